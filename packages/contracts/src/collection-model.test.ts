import { describe, expect, it } from 'vitest';
import { checkCollectionModel } from './collection-model.js';
import type { ModelInfo } from './embedding-api.js';

const served: ModelInfo = {
  name: 'multilingual-e5-small-q4',
  dim: 384,
  maxLength: 512,
  outputs: { dense: true, sparse: false, colbert: false },
  manifestHash: 'a'.repeat(64),
};

describe("a collection's recorded model against the served one", () => {
  it('lets the same model and manifest through', () => {
    expect(() =>
      checkCollectionModel({ name: served.name, manifestHash: 'a'.repeat(64) }, served, 'handbook'),
    ).not.toThrow();
  });

  it('refuses another model with 409, naming both', () => {
    expect(() =>
      checkCollectionModel({ name: 'bge-m3', manifestHash: 'b'.repeat(64) }, served, 'handbook'),
    ).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message:
          'Collection "handbook" was created on the model bge-m3, and the embedding service serves multilingual-e5-small-q4 now; serve bge-m3 again or move the collection to the new model',
      }),
    );
  });

  it('refuses the same name with a changed manifest, showing both hashes', () => {
    expect(() =>
      checkCollectionModel({ name: served.name, manifestHash: 'c'.repeat(64) }, served, 'handbook'),
    ).toThrow(
      /manifest of multilingual-e5-small-q4 changed since \(sha256 cccccccccccc then, aaaaaaaaaaaa now\)/,
    );
  });
});
