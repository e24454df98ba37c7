import { z } from 'zod';

/** Names chosen by users end up in URLs, filters and logs: keep them to a safe, boring alphabet. */
export const slugSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'use 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit',
  );

export const tenantIdSchema = slugSchema;
export const collectionNameSchema = slugSchema;
export const uuidSchema = z.string().uuid();

export const roles = ['admin', 'editor', 'reader'] as const;
export type Role = (typeof roles)[number];
