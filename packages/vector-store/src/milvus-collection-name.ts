import { AppError } from '@rag/contracts/app-error';
import type { VectorSpace } from './chunk-vector-store.js';

// Milvus collection names: a letter or underscore first, then letters, digits and underscores, at most 255.
const schemaVersion = 'v2';
const collectionNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/**
 * One collection per embedding space: `${prefix}chunks_${model}_${dim}_v2`. The model name is folded into
 * Milvus's alphabet (so "multilingual-e5-small" becomes "multilingual_e5_small"); the dimension keeps two
 * sizes of the same model apart; the schema version (v2: BM25 and metadata fields) keeps a server's older
 * collections from being mistaken for the current layout.
 */
export function milvusCollectionName(prefix: string, space: VectorSpace): string {
  if (!Number.isInteger(space.dim) || space.dim <= 0) {
    throw new AppError('bad_request', `vector dimension must be a positive integer, got ${space.dim}`);
  }
  const model = space.model.replace(/[^A-Za-z0-9_]/g, '_');
  const name = `${prefix}chunks_${model}_${space.dim}_${schemaVersion}`;
  if (!collectionNamePattern.test(name)) {
    throw new AppError(
      'bad_request',
      `"${name}" is not a valid Milvus collection name: use letters, digits and "_", starting with a letter or "_", at most 255 characters`,
      { context: { prefix, model: space.model } },
    );
  }
  return name;
}
