import { isAppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import { milvusCollectionName } from './milvus-collection-name.js';

describe('milvusCollectionName', () => {
  it('folds the model name into the Milvus alphabet and appends the dimension and schema version', () => {
    expect(milvusCollectionName('dev_', { model: 'multilingual-e5-small', dim: 384, hasSparse: false })).toBe(
      'dev_chunks_multilingual_e5_small_384_v2',
    );
  });

  it.each([
    ['a prefix with a hyphen', 'test-1_', 'tiny'],
    ['a prefix starting with a digit', '1_', 'tiny'],
    ['a name over 255 characters', 'p_', 'm'.repeat(260)],
  ])('rejects %s', (_case, prefix, model) => {
    try {
      milvusCollectionName(prefix, { model, dim: 8, hasSparse: true });
      throw new Error('expected a bad_request AppError');
    } catch (error) {
      expect(isAppError(error) && error.code).toBe('bad_request');
    }
  });

  it('rejects a dimension that is not a positive integer', () => {
    expect(() => milvusCollectionName('p_', { model: 'tiny', dim: 0, hasSparse: false })).toThrow(
      /dimension/,
    );
  });
});
