import { createHash } from 'node:crypto';

/**
 * Chunk ids derive from (document, version, position), so a retried job writes the same primary keys
 * to Milvus and PostgreSQL instead of duplicating rows. Chunks cut again for another model (a reindex) add the
 * reindex's id: they stand beside the old chunks of the same version until the switch, under other ids.
 */
export function chunkId(documentId: string, version: number, ordinal: number, cut?: string): string {
  const key = `${documentId}:${version}:${ordinal}${cut === undefined ? '' : `:${cut}`}`;
  const hex = createHash('sha256').update(key).digest('hex');
  // Shaped as an RFC 9562 version 8 (custom) UUID.
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
