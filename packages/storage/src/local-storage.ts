import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@rag/contracts/app-error';
import { isSafeKey, type ObjectStorage } from './object-storage.js';

/**
 * ObjectStorage on a local directory (the default; a shared volume when several replicas run). A write
 * goes to a temporary file first and is renamed into place, so a reader never sees half an object.
 */
export function createLocalStorage(options: { root: string }): ObjectStorage {
  const { root } = options;

  function pathOf(key: string): string {
    if (!isSafeKey(key)) throw new AppError('bad_request', `Invalid storage key "${key}"`);
    return join(root, ...key.split('/'));
  }

  return {
    async put(key, body, { size }) {
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true });
      const temporary = `${target}.${randomUUID()}.partial`;
      try {
        await pipeline(body, createWriteStream(temporary));
        const written = (await stat(temporary)).size;
        if (written !== size) {
          throw new AppError('bad_request', `Stored ${written} bytes for "${key}", expected ${size}`);
        }
        await rename(temporary, target);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },

    async get(key, { maxBytes }) {
      const file = await open(pathOf(key), 'r').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new AppError('not_found', `No stored object "${key}"`);
        throw new AppError('dependency_unavailable', `Cannot read stored object "${key}"`, { cause: error });
      });
      try {
        const { size } = await file.stat();
        if (size > maxBytes) {
          throw new AppError(
            'payload_too_large',
            `Stored object "${key}" has ${size} bytes, over ${maxBytes}`,
          );
        }
        return new Uint8Array(await file.readFile());
      } finally {
        await file.close();
      }
    },

    async delete(key) {
      await rm(pathOf(key), { force: true });
    },

    async list(prefix) {
      const base = join(root, ...prefix.split('/').filter(Boolean));
      const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return [];
          throw error;
        },
      );
      return entries
        .filter((entry) => entry.isFile() && !entry.name.endsWith('.partial'))
        .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
        .sort();
    },

    async checkHealth() {
      await mkdir(root, { recursive: true });
    },

    async close() {},
  };
}
