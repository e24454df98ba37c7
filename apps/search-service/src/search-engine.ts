import { AppError } from '@rag/contracts/app-error';
import type { OutputKind } from '@rag/contracts/embedding-api';
import type { EmbeddingClient } from '@rag/contracts/embedding-client';
import type { SearchMode } from '@rag/contracts/public-api';
import type {
  InternalSearchHit,
  InternalSearchRequest,
  InternalSearchResponse,
} from '@rag/contracts/search-api';
import { findSearchableChunks } from '@rag/db/chunk-repository';
import type { Queryable } from '@rag/db/pool';
import type { ChunkVectorStore, HybridQuery } from '@rag/vector-store/chunk-vector-store';
import type { Histogram } from 'prom-client';
import { highlightTerms } from './highlight.js';

export interface SearchEngineDeps {
  pool: Queryable;
  embeddings: EmbeddingClient;
  vectorStore: () => Promise<ChunkVectorStore>;
  stageDuration: Histogram<'stage'>;
}

/** Which signals a mode uses, given what the model offers; a mode the model cannot serve is a 422. */
export function signalsFor(mode: SearchMode, hasSparse: boolean): OutputKind[] {
  switch (mode) {
    case 'dense':
      return ['dense'];
    case 'sparse':
      if (!hasSparse)
        throw new AppError(
          'validation_failed',
          'mode "sparse" needs a model with a sparse head; this one has none',
        );
      return ['sparse'];
    case 'hybrid':
      return hasSparse ? ['dense', 'sparse'] : ['dense'];
    case 'bm25':
      throw new AppError('validation_failed', 'mode "bm25" is not available on this deployment yet');
  }
}

export function createSearchEngine(deps: SearchEngineDeps) {
  async function timed<T>(stage: string, work: () => Promise<T>): Promise<T> {
    const stop = deps.stageDuration.startTimer({ stage });
    try {
      return await work();
    } finally {
      stop();
    }
  }

  return async function search(request: InternalSearchRequest): Promise<InternalSearchResponse> {
    const started = performance.now();
    const store = await deps.vectorStore();
    const signals = signalsFor(request.mode, store.space.hasSparse);
    const scope = { tenantId: request.tenantId, collectionId: request.collectionId };

    const answer = await timed('embed', () =>
      deps.embeddings.embed({ texts: [request.query], kind: 'query', outputs: signals }),
    );
    const embedding = answer.data[0];
    const query: HybridQuery = {
      scope,
      principals: request.principals,
      // Grouping by document keeps one chunk per document, so fetch more chunks to fill the page.
      topK: request.groupByDocument ? Math.min(request.topK * 4, 200) : request.topK,
      ...(embedding?.dense && signals.includes('dense') ? { dense: embedding.dense } : {}),
      ...(embedding?.sparse && signals.includes('sparse') ? { sparse: embedding.sparse } : {}),
    };
    if (query.sparse && query.sparse.indices.length === 0 && !query.dense) return empty(signals, started);

    const hits = await timed('vector_search', () => store.search(query));
    const chunks = await timed('join', () =>
      findSearchableChunks(
        deps.pool,
        { ...scope, principals: request.principals },
        hits.map((h) => h.chunkId),
      ),
    );

    const results: InternalSearchHit[] = [];
    const seenDocuments = new Set<string>();
    for (const hit of hits) {
      const chunk = chunks.get(hit.chunkId);
      if (!chunk) continue; // being deleted or replaced: PostgreSQL is the source of truth
      if (request.groupByDocument) {
        if (seenDocuments.has(chunk.documentId)) continue;
        seenDocuments.add(chunk.documentId);
      }
      results.push({
        ...chunk,
        score: hit.score,
        highlights: highlightTerms(chunk.text, request.query),
      });
      if (results.length === request.topK) break;
    }
    return { results, signals, tookMs: performance.now() - started };
  };
}

function empty(signals: string[], started: number): InternalSearchResponse {
  return { results: [], signals, tookMs: performance.now() - started };
}

export type SearchEngine = ReturnType<typeof createSearchEngine>;
