import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { httpSettings, redisSettings } from './base-settings.js';
import { relativePathProblem } from './setting-path.js';

/** Schemas shared by several services; the shared groups and their variables are declared in base-settings.ts. */

/** A path setting after `settingPath`: relative ones without RAG_BASE_DIR are refused by name. */
export const absolutePathSchema = z.string().min(1).refine(isAbsolute, relativePathProblem);

/** The HTTP server without a default port (each service has its own). */
export const httpServerSchema = httpSettings().schema;
export const redisSchema = redisSettings.schema;

/** Drops undefined values so that zod defaults apply to unset variables. */
export function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
