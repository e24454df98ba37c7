import { isAbsolute, resolve } from 'node:path';
import type { Env } from './secret.js';

/**
 * The one rule for path settings (STORAGE_ROOT, MODEL_DIR, MODEL_MANIFEST, every `*_FILE`): an absolute path
 * is taken as it is; a relative one is read from `RAG_BASE_DIR`, never from whatever folder the process
 * happened to start in. Services started from different folders (each app runs in its own) would otherwise
 * each find their own copy of, say, `.data/storage`, and uploads stored by one would be missing for another.
 *
 * A relative path without a base is handed back unchanged, for the config schema to refuse by name
 * (see `absolutePathSchema`), so that start-up lists it with every other problem.
 */
export function settingPath(env: Env, value: string | undefined): string | undefined {
  if (value === undefined || value === '' || isAbsolute(value)) return value;
  const base = env.RAG_BASE_DIR;
  if (!base || !isAbsolute(base)) return value;
  return resolve(base, value);
}

export const relativePathProblem =
  'must be an absolute path, or relative with RAG_BASE_DIR set to the absolute folder it is relative to';
