import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { httpSettings, milvusSettings, postgresSettings, redisSettings } from './base-settings.js';
import { relativePathProblem } from './setting-path.js';

/** Schemas shared by several services; the groups' schemas come from their settings (base-settings.ts). */

export { logLevelSchema, serviceTokenSchema, serviceUrlSchema } from './base-settings.js';

/** A path setting after `settingPath`: relative ones without RAG_BASE_DIR are refused by name. */
export const absolutePathSchema = z.string().min(1).refine(isAbsolute, relativePathProblem);

/** The HTTP server without a default port (each service has its own). */
export const httpServerSchema = httpSettings().schema;
export const postgresSchema = postgresSettings().schema;
export const redisSchema = redisSettings.schema;
export const milvusSchema = milvusSettings.schema;

/** Drops undefined values so that zod defaults apply to unset variables. */
export function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
