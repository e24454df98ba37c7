import { AppError } from '@rag/contracts/app-error';
import type { RecordedModel } from '@rag/contracts/collection-model';
import type { Embedding, ModelInfo, OutputKind } from '@rag/contracts/embedding-api';
import type { SearchMode } from '@rag/contracts/public-api';
import type {
  InternalSearchHit,
  InternalSearchResponse,
  ParsedSearchRequest,
  SignalName,
} from '@rag/contracts/search-api';
import type { CollectionTermStats } from '@rag/db/term-stats-repository';
import { lexicalTermIds } from '@rag/lexical/analyzer';
import { bm25QueryVector } from '@rag/lexical/bm25';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ChunkVectorStore, SignalHits, SignalSearch } from '@rag/vector-store/chunk-vector-store';
import { compileMilvusFilter } from '@rag/vector-store/metadata-filter-milvus';
import type { ModelSpaces } from '@rag/vector-store/model-spaces';
import type { Histogram } from 'prom-client';
import { colbertRerank } from './colbert-rerank.js';
import { type FusedHit, fuse, resolveWeights, single } from './fusion.js';
import { highlighter } from './highlight.js';
import { mayShowLexicalScores, withoutLexicalScores } from './lexical-score-exposure.js';
import {
  type AnswerIndex,
  type AnswerKey,
  answerAt,
  createEmbeddingMemory,
  noSearchCache,
  type SearchCache,
} from './search-cache.js';
import type { SearchCatalog, SearchState } from './search-catalog.js';

export { postgresSearchCatalog, type SearchCatalog, type SearchState } from './search-catalog.js';

export interface SearchEngineDeps {
  catalog: SearchCatalog;
  /**
   * Every served model's space: each collection is searched with the model it records (undefined: the default
   * model). The one source of a model's info and capabilities, its embedding client and its vector store.
   */
  spaces: ModelSpaces;
  stageDuration: Histogram<'stage'>;
  cache?: SearchCache;
  /**
   * Query embeddings kept in this process's memory, and for how long (the shared cache's time to live); none
   * with 0. Default: 1,000 for an hour.
   */
  embeddingMemory?: { entries: number; ttlMs: number };
  tuning?: Partial<SearchTuning>;
}

export interface SearchTuning {
  /** Weights of the signals in weighted fusion when the caller names none (normalised over those in use). */
  defaultWeights: Record<SignalName, number>;
  /** Candidates each signal contributes; the ranking that pages are cut from. */
  candidates: number;
  /** How many of the top candidates a ColBERT re-rank re-scores. */
  rerankDepth: number;
}

/**
 * Dense 0.6 + BM25 0.4, each normalised by its score distribution (fusion.ts), is the default for every data
 * set: chosen once over both evaluation sets (jsquad-valid, Japanese; cranfield, English) with exact search,
 * where it had the best sum over both of min-max, z-score and 3σ normalisation and RRF at dense weights 0.3
 * to 0.8 (README, Search quality). The learned sparse head, where a model has one, joins with a smaller
 * weight (not measured: the evaluated model has no sparse head).
 */
export const defaultTuning: SearchTuning = {
  defaultWeights: { dense: 0.6, bm25: 0.4, sparse: 0.25 },
  // 400 per signal: the 3σ normalisation estimates each list's spread from more of its bulk, and fewer chunks
  // count 0 for missing from a list; over 200 it lifted the hybrid on both evaluation sets (README).
  candidates: 400,
  rerankDepth: 32,
};

/** Which signals a mode uses, given what the model offers; a mode the model cannot serve is a 422. */
export function signalsFor(mode: SearchMode, hasSparse: boolean): SignalName[] {
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
    case 'bm25':
      return ['bm25'];
    case 'hybrid':
      return hasSparse ? ['dense', 'sparse', 'bm25'] : ['dense', 'bm25'];
  }
}

export function createSearchEngine(deps: SearchEngineDeps) {
  const cache = deps.cache ?? noSearchCache;
  const tuning = { ...defaultTuning, ...deps.tuning };

  async function timed<T>(stage: string, work: () => Promise<T>): Promise<[T, number]> {
    const stop = deps.stageDuration.startTimer({ stage });
    const started = performance.now();
    try {
      return [await work(), performance.now() - started];
    } finally {
      stop();
    }
  }

  /** The model a collection records (undefined: the default), its embedding client and its vector space. */
  async function route(recorded: RecordedModel | undefined): Promise<ModelRoute> {
    const space = await deps.spaces.forCollection(recorded);
    return { store: space.store, model: space.model.info, embeddings: space.model.client };
  }

  /**
   * Query embeddings this process computed or read lately, by tenant (a hit is visible to the caller, as in
   * the shared cache), model and outputs: a later page of the same query, or the same query in another mode
   * or with another filter, needs neither the shared cache nor the model. ColBERT query vectors (one per
   * token) are left to the shared cache. The oldest go first.
   */
  const memory = createEmbeddingMemory(deps.embeddingMemory ?? { entries: 1_000, ttlMs: 3_600_000 });
  /** Query embeddings this process has asked the embedding service for and not yet received. */
  let embedsInFlight = 0;

  /**
   * Dense / sparse / ColBERT query vectors: from this process's memory or the shared cache when this query
   * was embedded before, else from the model.
   *
   * The shared cache's answer is one Redis round trip, and a query it does not know (most queries) waited for
   * it before the embedding call went out. When this process has no query embedding in flight, the model is
   * idle as far as it can tell: the embedding call goes out at once, beside the cache lookup, and a hit simply
   * wins (the model's answer is dropped). Under load, when a call is in flight, the lookup is awaited first as
   * before, so a hit never takes the model's time from another search's query. Holding back on a hit, or
   * cancelling the call, would save the model's time only where it is idle anyway.
   */
  async function embedQuery(
    tenantId: string,
    { model, embeddings }: ModelRoute,
    query: string,
    outputs: OutputKind[],
  ): Promise<Embedding> {
    const key = { tenantId, model: model.name, outputs, query };
    const remembered =
      memory === undefined || outputs.includes('colbert')
        ? undefined
        : JSON.stringify([tenantId, model.name, model.manifestHash, [...outputs].sort(), query]);
    const known = remembered === undefined ? undefined : memory?.recall(remembered);
    if (known) return known;
    const fromModel = async () => {
      embedsInFlight++;
      try {
        const answer = await embeddings.embed({ texts: [query], kind: 'query', outputs });
        const embedding = answer.data[0];
        if (!embedding)
          throw new AppError('model_error', 'The embedding service returned no query embedding');
        return embedding;
      } finally {
        embedsInFlight--;
      }
    };
    const early = embedsInFlight === 0 ? fromModel() : undefined;
    early?.catch(() => {}); // awaited below unless the cache answers
    let embedding = await cache.getEmbedding(key);
    if (!embedding) {
      embedding = await (early ?? fromModel());
      // Not awaited: the answer need not wait for the cache write (which handles its own errors).
      void cache.putEmbedding(key, embedding);
    }
    if (remembered !== undefined) memory?.remember(remembered, embedding);
    return embedding;
  }

  /**
   * The query's BM25 vector: its terms, by the analyzer chunks are indexed with, weighted by the collection's
   * IDF; from the statistics read with the collection's state where they were, else in a read of their own.
   */
  async function bm25Query(collectionId: string, query: string, read?: Promise<CollectionTermStats>) {
    const ids = lexicalTermIds(query);
    const stats = read ? await read : await deps.catalog.termStats(collectionId, ids);
    return bm25QueryVector(ids, stats);
  }

  return async function search(request: ParsedSearchRequest): Promise<InternalSearchResponse> {
    const started = performance.now();
    let routed = await route(request.scope.model);
    let { store, model } = routed;
    let signals = signalsFor(request.mode, model.outputs.sparse);
    // The index version and the model are read together: the answer (and its cursor) never pairs one model
    // with the other's version when the collection moves to another model meanwhile. A BM25 search built from
    // PostgreSQL's statistics reads them in the same round trip (the same snapshot).
    const collectionId = request.scope.collectionId;
    const termIds =
      signals.includes('bm25') && store.bm25Source !== 'milvus-function'
        ? lexicalTermIds(request.query)
        : undefined;
    const stateRead = timed(
      'index_version',
      (): Promise<SearchState & { termStats?: CollectionTermStats }> =>
        termIds
          ? deps.catalog.searchStateWithTermStats(collectionId, termIds)
          : deps.catalog.searchState(collectionId),
    );
    stateRead.catch(() => {}); // awaited below
    const termStatsRead = termIds
      ? stateRead.then(([state]) => state.termStats as CollectionTermStats)
      : undefined;
    const prepare = () => {
      if (request.rerank === 'colbert' && !model.outputs.colbert) {
        throw new AppError(
          'validation_failed',
          `rerank "colbert" needs a model with ColBERT vectors; ${model.name} has none`,
        );
      }
      // The query's vectors do not depend on the index version: they are computed while it is read and the
      // answer cache is asked, and simply dropped on a cache hit.
      const embeddingOutputs = signals.filter(
        (s): s is 'dense' | 'sparse' => s === 'dense' || s === 'sparse',
      );
      const embedding = timed('embed', async () =>
        embeddingOutputs.length > 0
          ? embedQuery(request.scope.tenantId, routed, request.query, embeddingOutputs)
          : undefined,
      );
      const lexical = !signals.includes('bm25')
        ? undefined
        : store.bm25Source === 'milvus-function'
          ? Promise.resolve(request.query)
          : bm25Query(collectionId, request.query, termStatsRead);
      // Awaited below unless the answer comes from the cache.
      embedding.catch(() => {});
      lexical?.catch(() => {});
      return { embedding, lexical };
    };
    let queryVectors = prepare();
    // The answer cache is asked now, while the collection's state is read, not after: the entry carries the
    // index (version and model) it was computed on, and one computed on any other index is a miss (answerAt).
    // Its key holds everything else that shapes the answer: the caller's weights, not the ones in use, which
    // follow from them, the model's signals (the model is in the index) and the tuning's defaults.
    const answerKey: AnswerKey = {
      tenantId: request.scope.tenantId,
      collectionId: request.scope.collectionId,
      request: {
        query: request.query,
        mode: request.mode,
        rerank: request.rerank,
        fusion: request.fusion,
        weights: request.weights ?? null,
        defaultWeights: tuning.defaultWeights,
        filter: request.filter ?? null,
        group: request.group_by_document,
        offset: request.offset,
        topK: request.top_k,
        principals: request.scope.principals === null ? null : [...request.scope.principals].sort(),
      },
    };
    const storedAnswer = cache.getAnswer(answerKey);
    storedAnswer.catch(() => {}); // awaited below
    const [stats, statsMs] = await stateRead;
    if (stats.model && !sameModel(stats.model, request.scope.model)) {
      routed = await route(stats.model);
      ({ store, model } = routed);
      signals = signalsFor(request.mode, model.outputs.sparse);
      queryVectors = prepare();
    }
    if (request.scope.indexVersion !== undefined && request.scope.indexVersion !== stats.indexVersion) {
      throw new AppError(
        'conflict',
        'The collection changed since the first page of this search; search again from the first page',
      );
    }
    const weights =
      signals.length > 1
        ? resolveWeights(signals, request.weights, tuning.defaultWeights)
        : { [signals[0] as string]: 1 };
    // The index identity is the version with the model that built it.
    const index: AnswerIndex = { indexVersion: stats.indexVersion, model: model.name };
    const cached = answerAt(await storedAnswer, index);
    if (cached) {
      const totalMs = performance.now() - started;
      return {
        ...cached,
        tookMs: totalMs,
        timings: { ...zeroTimings, databaseMs: statsMs, totalMs, cached: true },
      };
    }

    const scope = { tenantId: request.scope.tenantId, collectionId: request.scope.collectionId };
    const metadataFilter = request.filter ? compileMilvusFilter(request.filter) : '';
    const searchSignals = (vectors: SignalSearch['vectors']) =>
      store.searchSignals({
        scope,
        principals: request.scope.principals,
        metadataFilter,
        vectors,
        limit: tuning.candidates,
      });
    // The BM25 list needs no embedding: it is searched while the query is still being embedded (Milvus and
    // the model are different processes), so a hybrid search waits for Milvus only for the model's lists.
    const lexicalLists = queryVectors.lexical?.then((bm25) => searchSignals({ bm25 }));
    lexicalLists?.catch(() => {}); // awaited below
    const [embedding, embedMs] = await queryVectors.embedding;
    const vectors = {
      ...(embedding?.dense && signals.includes('dense') ? { dense: embedding.dense } : {}),
      ...(embedding?.sparse && signals.includes('sparse') ? { sparse: embedding.sparse } : {}),
    };
    // The vector_search stage is what the search waits for Milvus once the query is embedded.
    const [lists, vectorMs] = await timed('vector_search', async (): Promise<SignalHits> => {
      const [modelLists, bm25Lists] = await Promise.all([
        Object.keys(vectors).length > 0 ? searchSignals(vectors) : {},
        lexicalLists ?? {},
      ]);
      return { ...modelLists, ...bm25Lists };
    });
    let ranked: FusedHit[] =
      signals.length === 1
        ? single(signals[0] as SignalName, lists[signals[0] as SignalName] ?? [])
        : fuse(lists, weights, request.fusion);

    let rerankMs = 0;
    const visibility = { ...scope, principals: request.scope.principals, filter: request.filter };
    if (request.rerank === 'colbert') {
      [ranked, rerankMs] = await timed('rerank', () =>
        colbertRerank(ranked, tuning.rerankDepth, {
          query: () => embedQuery(request.scope.tenantId, routed, request.query, ['colbert']),
          passages: async (texts) =>
            // A search waits on these passages: they go ahead of an ingest's in the queue.
            (
              await routed.embeddings.embed({
                texts,
                kind: 'passage',
                outputs: ['colbert'],
                priority: 'interactive',
              })
            ).data,
          texts: async (ids) =>
            new Map([...(await deps.catalog.visibleChunks(visibility, ids))].map(([id, c]) => [id, c.text])),
        }),
      );
    }
    if (request.group_by_document) ranked = firstPerDocument(ranked);
    if (!mayShowLexicalScores(request.scope.principals, store.bm25Source)) {
      ranked = withoutLexicalScores(ranked, signals.includes('bm25'));
    }

    // Pages are fixed slices of one deterministic ranking, so they never overlap or skip. PostgreSQL has the
    // last word on visibility: a chunk it no longer shows (document deleted or replaced a moment ago) is
    // left out of its page rather than pulling the next page's first hit forward.
    const page = ranked.slice(request.offset, request.offset + request.top_k);
    const [chunks, joinMs] = await timed('join', () =>
      deps.catalog.visibleChunks(
        visibility,
        page.map((hit) => hit.chunkId),
      ),
    );
    const results: InternalSearchHit[] = [];
    const highlight = highlighter(request.query);
    for (const hit of page) {
      const chunk = chunks.get(hit.chunkId);
      if (!chunk) continue;
      results.push({
        chunk_id: chunk.chunkId,
        document_id: chunk.documentId,
        external_id: chunk.externalId,
        title: chunk.title,
        text: chunk.text,
        metadata: chunk.metadata,
        score: hit.score,
        scores: hit.scores,
        ...(hit.ranks ? { ranks: hit.ranks } : {}),
        highlights: highlight(chunk.text),
        page: chunk.page,
        heading_path: chunk.headingPath,
        start_offset: chunk.startOffset,
        end_offset: chunk.endOffset,
      });
    }
    const nextOffset = request.offset + request.top_k < ranked.length ? request.offset + request.top_k : null;
    const totalMs = performance.now() - started;
    const answer: InternalSearchResponse = {
      results,
      signals: request.rerank === 'colbert' ? [...signals, 'colbert'] : signals,
      fusion: signals.length > 1 ? request.fusion : 'none',
      weights,
      reranked: request.rerank === 'colbert',
      nextOffset,
      indexVersion: stats.indexVersion,
      tookMs: totalMs,
      timings: { embedMs, vectorMs, databaseMs: statsMs + joinMs, rerankMs, totalMs, cached: false },
    };
    void cache.putAnswer(answerKey, { index, answer });
    return answer;
  };
}

interface ModelRoute {
  store: ChunkVectorStore;
  model: ModelInfo;
  embeddings: EmbeddingClient;
}

function sameModel(a: RecordedModel, b: RecordedModel | undefined): boolean {
  return b !== undefined && a.name === b.name && a.manifestHash === b.manifestHash;
}

const zeroTimings = { embedMs: 0, vectorMs: 0, databaseMs: 0, rerankMs: 0 };

function firstPerDocument(ranked: FusedHit[]): FusedHit[] {
  const seen = new Set<string>();
  return ranked.filter((hit) => {
    if (seen.has(hit.documentId)) return false;
    seen.add(hit.documentId);
    return true;
  });
}

export type SearchEngine = ReturnType<typeof createSearchEngine>;
