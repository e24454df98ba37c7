import type { Readable } from 'node:stream';

/**
 * Where uploaded files and upstream documents live. Keys are relative paths such as
 * `documents/acme/<document id>/v2/report.pdf`; both implementations accept the same keys.
 */
export interface ObjectStorage {
  /** Stores a stream of known length under the key, replacing any object there. */
  put(key: string, body: Readable, options: { size: number; contentType?: string }): Promise<void>;
  /**
   * Reads a whole object, refusing one larger than maxBytes (AppError payload_too_large) before reading it,
   * so a worker never holds more than its limit. A missing key is AppError not_found.
   */
  get(key: string, options: { maxBytes: number }): Promise<Uint8Array>;
  /** Removes the object; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys under a prefix (for removing a document's files). */
  list(prefix: string): Promise<string[]>;
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}

const safeKey = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[\w!\-.*'()/]{1,1024}$/;

/** Keys come from upstream jobs too: they stay inside the store (no absolute paths, no `..`). */
export function isSafeKey(key: string): boolean {
  return safeKey.test(key) && !key.includes('//');
}
