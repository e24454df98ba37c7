import { bm25DocumentVector } from '@rag/lexical/bm25';
import { documentChunkTerms, indexedTerms } from '@rag/lexical/chunk-terms';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { describe, expect, it } from 'vitest';
import { buildVectorRows, vectorSource } from './vector-row.js';

const embeddings = {
  embed: async (request: { texts: string[] }) => ({
    data: request.texts.map(() => ({ dense: [0.6, 0.8] })),
  }),
} as unknown as EmbeddingClient;
const store = { space: { hasSparse: false }, bm25Source: 'client' } as unknown as ChunkVectorStore;
const document = { id: 'd1', tenantId: 'acme', collectionId: 'c1', metadata: {}, acl: null };

describe('buildVectorRows', () => {
  it("builds the BM25 vector from the terms a source carries, which are the analyzer's terms of its text", async () => {
    const chunks = [
      { context: 'Guide\nSetup', text: 'Install the agent, then start the agent.' },
      { context: 'Guide\nSetup', text: 'Restart it after an upgrade.' },
    ];
    const terms = documentChunkTerms(chunks);
    // What ingestion hands over is what the row would be built from without it.
    for (const [i, chunk] of chunks.entries()) {
      expect(terms[i]!.indexed).toEqual(indexedTerms(chunk.context, chunk.text));
    }

    const carried = chunks.map((chunk, i) =>
      vectorSource(document, { chunkId: `k${i}`, ...chunk, indexedTerms: terms[i]!.indexed }),
    );
    const analysed = chunks.map((chunk, i) => vectorSource(document, { chunkId: `k${i}`, ...chunk }));
    const deps = { embeddings, embedBatchSize: 32 };
    expect(await buildVectorRows(deps, store, carried, 7)).toEqual(
      await buildVectorRows(deps, store, analysed, 7),
    );

    // The carried terms are used as they are, not the text analysed again.
    const other = [...terms[1]!.indexed, ...terms[1]!.indexed];
    const [row] = await buildVectorRows(
      deps,
      store,
      [vectorSource(document, { chunkId: 'k0', ...chunks[0]!, indexedTerms: other })],
      7,
    );
    expect(row!.bm25).toEqual(bm25DocumentVector(other, 7));
    expect(row!.bm25).not.toEqual(bm25DocumentVector(terms[0]!.indexed, 7));
  });
});
