import { absolutePathSchema, defined } from '@rag/config/common-schemas';
import { type Env, readSecret } from '@rag/config/secret';
import { settingPath } from '@rag/config/setting-path';
import { block } from '@rag/config/settings';
import { z } from 'zod';
import { createLocalStorage } from './local-storage.js';
import type { ObjectStorage } from './object-storage.js';
import { createS3Storage } from './s3-storage.js';

/** The storage settings every service that reads or writes documents shares (gateway and worker). */
export const storageSchema = z.discriminatedUnion('driver', [
  z.object({ driver: z.literal('local'), root: absolutePathSchema }),
  z.object({
    driver: z.literal('s3'),
    bucket: z.string().min(3),
    endpoint: z.url().optional(),
    region: z.string().min(1).default('us-east-1'),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    forcePathStyle: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    keyPrefix: z.string().default(''),
  }),
]);

export type StorageConfig = z.infer<typeof storageSchema>;

/** STORAGE_DRIVER=local (STORAGE_ROOT) or s3 (S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, ...). */
export function storageFromEnv(env: Env) {
  const driver = env.STORAGE_DRIVER ?? 'local';
  // Default: .data/storage under RAG_BASE_DIR (the checkout, for `pnpm start`); relative paths need that base.
  if (driver !== 's3')
    return defined({ driver, root: settingPath(env, env.STORAGE_ROOT ?? '.data/storage') });
  return defined({
    driver,
    bucket: env.S3_BUCKET,
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    accessKeyId: env.S3_ACCESS_KEY_ID,
    secretAccessKey: readSecret(env, 'S3_SECRET_ACCESS_KEY'),
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    keyPrefix: env.S3_KEY_PREFIX,
  });
}

/** The storage settings as one block of a service's settings table (the driver decides which are read). */
export const storageSettings = block(storageSchema, storageFromEnv, {
  driver: 'STORAGE_DRIVER',
  root: 'STORAGE_ROOT',
  bucket: 'S3_BUCKET',
  endpoint: 'S3_ENDPOINT',
  region: 'S3_REGION',
  accessKeyId: 'S3_ACCESS_KEY_ID',
  secretAccessKey: 'S3_SECRET_ACCESS_KEY',
  forcePathStyle: 'S3_FORCE_PATH_STYLE',
  keyPrefix: 'S3_KEY_PREFIX',
});

export function createObjectStorage(config: StorageConfig): ObjectStorage {
  return config.driver === 'local' ? createLocalStorage({ root: config.root }) : createS3Storage(config);
}
