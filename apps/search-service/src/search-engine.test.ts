import { AppError } from '@rag/contracts/app-error';
import type { Embedding, EmbedRequest, ModelInfo } from '@rag/contracts/embedding-api';
import {
  type InternalSearchRequest,
  type InternalSearchResponse,
  internalSearchRequestSchema,
} from '@rag/contracts/search-api';
import type { SearchFilter } from '@rag/contracts/search-filter';
import type { ChunkWithDocument } from '@rag/db/chunk-repository';
import type { CollectionModel } from '@rag/db/collection-repository';
import type { SearchScope } from '@rag/db/searchable-chunk-repository';
import { lexicalTermIds } from '@rag/lexical/analyzer';
import { bm25QueryVector } from '@rag/lexical/bm25';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ServedModel } from '@rag/service-clients/embedding-models';
import type { JsonClient } from '@rag/service-clients/json-client';
import type {
  Bm25Source,
  ChunkVectorStore,
  SignalHits,
  SignalSearch,
  VectorHit,
} from '@rag/vector-store/chunk-vector-store';
import { compileMilvusFilter } from '@rag/vector-store/metadata-filter-milvus';
import type { ModelSpaces } from '@rag/vector-store/model-spaces';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { fuse } from './fusion.js';
import type { AnswerKey, EmbeddingKey, SearchCache, StoredAnswer } from './search-cache.js';
import { createSearchEngine, type SearchCatalog, type SearchTuning, signalsFor } from './search-engine.js';

/**
 * The search engine's planning on fakes of its ports: the model spaces (model info, embedding client, vector
 * store), the PostgreSQL catalog and the cache. Each fake records what it was asked, so the tests read which
 * signals a search asks for, with which candidates and filters, and what it does with the answers.
 */

const tenantId = 'acme';
const collectionId = '00000000-0000-4000-8000-000000000001';

interface FakeModel {
  name: string;
  sparse?: boolean;
  colbert?: boolean;
  bm25Source?: Bm25Source;
  lists?: SignalHits;
  /** ColBERT vectors of a passage by its text (query vector: [[1, 0], [0, 1]]). */
  colbertPassages?: Record<string, number[][]>;
  embedFails?: Error;
  storeFails?: Error;
  /** The embedding service answers with no embedding at all. */
  embedsNothing?: boolean;
  /** Embedding calls answer once this settles. */
  embedGate?: Promise<unknown>;
}

interface HarnessOptions {
  models?: FakeModel[];
  /** The catalog's state: its index version and the model the collection records. */
  indexVersion?: number;
  recorded?: CollectionModel;
  /** Chunk ids PostgreSQL no longer shows (a document deleted a moment ago). */
  hidden?: string[];
  stateFails?: Error;
  /** The collection's state is read once this settles (undefined: at once). */
  stateRead?: Promise<unknown>;
  cache?: SearchCache;
  embeddingMemory?: { entries: number; ttlMs: number };
  tuning?: Partial<SearchTuning>;
}

const hit = (chunkId: string, score: number, documentId = `doc-${chunkId}`): VectorHit => ({
  chunkId,
  documentId,
  score,
});

function harness(options: HarnessOptions = {}) {
  const models = options.models ?? [{ name: 'plain' }];
  const embeds: Array<{ model: string } & EmbedRequest> = [];
  const searches: Array<{ model: string } & SignalSearch> = [];
  const termStats: Array<{ collectionId: string; termIds: readonly number[] }> = [];
  /** Term statistics read with the collection's state, in one round trip. */
  const statesWithTerms: Array<{ collectionId: string; termIds: readonly number[] }> = [];
  const visible: Array<{ scope: SearchScope; chunkIds: readonly string[] }> = [];
  const spaceRequests: Array<CollectionModel | undefined> = [];
  /** When each embedding call answered and each Milvus search was issued, in order. */
  const events: string[] = [];

  const spaceOf = (fake: FakeModel) => {
    const info: ModelInfo = {
      name: fake.name,
      dim: 2,
      maxLength: 512,
      outputs: { dense: true, sparse: fake.sparse ?? false, colbert: fake.colbert ?? false },
      manifestHash: `hash-${fake.name}`,
    };
    const client: EmbeddingClient = {
      async embed(request) {
        embeds.push({ model: fake.name, ...request });
        // An embedding takes a while, as the model's does: other work may go on meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
        await fake.embedGate;
        events.push('embedded');
        if (fake.embedFails) throw fake.embedFails;
        if (fake.embedsNothing) return { model: info, data: [] };
        const outputs = request.outputs ?? ['dense', 'sparse']; // the service's default
        return {
          model: info,
          data: request.texts.map((text): Embedding => {
            const embedding: Embedding = { tokens: text.length };
            if (outputs.includes('dense')) embedding.dense = [text.length, 1];
            if (outputs.includes('sparse')) embedding.sparse = { indices: [7], values: [0.5] };
            if (outputs.includes('colbert')) {
              embedding.colbert =
                request.kind === 'query'
                  ? [
                      [1, 0],
                      [0, 1],
                    ]
                  : (fake.colbertPassages?.[text] ?? []);
            }
            return embedding;
          }),
        };
      },
      modelInfo: async () => info,
      tokenize: async () => {
        throw new Error('search never tokenizes');
      },
    };
    const store = {
      space: { model: fake.name, dim: 2, hasSparse: info.outputs.sparse },
      bm25Source: fake.bm25Source ?? 'token-ids',
      async searchSignals(query: SignalSearch) {
        searches.push({ model: fake.name, ...query });
        events.push(`search ${Object.keys(query.vectors).sort().join('+')}`);
        if (fake.storeFails) throw fake.storeFails;
        // Only the signals asked for come back, as Milvus answers.
        const lists = fake.lists ?? {};
        return Object.fromEntries(
          Object.keys(query.vectors)
            .filter((signal) => signal in lists)
            .map((signal) => [signal, lists[signal as keyof SignalHits]]),
        ) as SignalHits;
      },
    } as unknown as ChunkVectorStore; // the engine only searches
    const model: ServedModel = {
      info,
      url: `http://${fake.name}.invalid`,
      client,
      json: {} as JsonClient, // for the OpenAI pass-through only; search never calls it
      isDefault: fake === models[0],
    };
    return { model, store };
  };
  const spaces = new Map(models.map((fake) => [fake.name, spaceOf(fake)]));
  const modelSpaces: ModelSpaces = {
    async forCollection(recorded) {
      spaceRequests.push(recorded);
      const space = spaces.get(recorded?.name ?? models[0]!.name);
      if (!space) throw new AppError('conflict', `no model ${recorded?.name}`);
      return space;
    },
    forModel: async () => {
      throw new Error('search routes by collection');
    },
    close: async () => {},
  };

  const hidden = new Set(options.hidden ?? []);
  // Every term in 2 of 10 chunks.
  const statsOf = (termIds: readonly number[]) => ({
    chunkCount: 10,
    totalTokens: 100,
    indexVersion: options.indexVersion ?? 4,
    documentFrequency: new Map(termIds.map((termId): [number, number] => [termId, 2])),
  });
  const catalog: SearchCatalog = {
    async searchState(id) {
      await options.stateRead;
      if (options.stateFails) throw options.stateFails;
      expect(id).toBe(collectionId);
      return {
        indexVersion: options.indexVersion ?? 4,
        ...(options.recorded ? { model: options.recorded } : {}),
      };
    },
    async searchStateWithTermStats(id, termIds) {
      const state = await catalog.searchState(id);
      statesWithTerms.push({ collectionId: id, termIds });
      return { ...state, termStats: statsOf(termIds) };
    },
    async termStats(id, termIds) {
      termStats.push({ collectionId: id, termIds });
      return statsOf(termIds);
    },
    async visibleChunks(scope, chunkIds) {
      visible.push({ scope, chunkIds });
      return new Map(
        chunkIds
          .filter((id) => !hidden.has(id))
          .map((id): [string, ChunkWithDocument] => [
            id,
            {
              chunkId: id,
              documentId: findDocument(models, id),
              externalId: `ext-${id}`,
              title: null,
              text: `text of ${id}`,
              metadata: {},
              startOffset: 0,
              endOffset: 10,
              page: null,
              headingPath: [],
            },
          ]),
      );
    },
  };

  const stageDuration = new Histogram({
    name: 'search_stage_seconds',
    help: 'stage durations',
    labelNames: ['stage'] as const,
    registers: [new Registry()],
  });
  const search = createSearchEngine({
    catalog,
    spaces: modelSpaces,
    stageDuration,
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.embeddingMemory ? { embeddingMemory: options.embeddingMemory } : {}),
    ...(options.tuning ? { tuning: options.tuning } : {}),
  });
  return { search, embeds, searches, termStats, statesWithTerms, visible, spaceRequests, events };
}

function findDocument(models: FakeModel[], chunkId: string): string {
  for (const fake of models)
    for (const list of Object.values(fake.lists ?? {}))
      for (const h of list ?? []) if (h.chunkId === chunkId) return h.documentId;
  return `doc-${chunkId}`;
}

/** The vectors a search sent to Milvus, over all its calls (a hybrid search's BM25 list is its own call). */
function searchedVectors(h: ReturnType<typeof harness>): SignalSearch['vectors'] {
  return Object.assign({}, ...h.searches.map((s) => s.vectors));
}

function request(
  fields: Partial<Omit<InternalSearchRequest, 'scope'>> & {
    scope?: Partial<InternalSearchRequest['scope']>;
  } = {},
) {
  const { scope, ...rest } = fields;
  return internalSearchRequestSchema.parse({
    query: 'travel policy',
    ...rest,
    scope: { tenantId, collectionId, principals: null, ...scope },
  });
}

const ids = (answer: InternalSearchResponse) => answer.results.map((r) => r.chunk_id);

/** A fake cache of the port: a Map, recording what was asked and written. */
function memoryCache(): SearchCache & {
  answers: Map<string, StoredAnswer>;
  embeddings: string[];
  answerLookups: number;
  embeddingLookups: number;
  /** Stores an embedding as another replica would have. */
  seed(key: EmbeddingKey, embedding: Embedding): void;
  /** Embedding lookups answer once this settles. */
  embeddingGate?: Promise<unknown>;
} {
  const answers = new Map<string, StoredAnswer>();
  const embeddings = new Map<string, Embedding>();
  const embeddingKey = (key: EmbeddingKey) => JSON.stringify(key);
  const answerKey = (key: AnswerKey) => JSON.stringify(key);
  return {
    answers,
    embeddings: [],
    answerLookups: 0,
    embeddingLookups: 0,
    seed(key, embedding) {
      embeddings.set(embeddingKey(key), embedding);
    },
    async getEmbedding(key) {
      this.embeddingLookups++;
      await this.embeddingGate;
      return embeddings.get(embeddingKey(key));
    },
    async putEmbedding(key, embedding) {
      this.embeddings.push(key.outputs.join('+'));
      embeddings.set(embeddingKey(key), embedding);
    },
    async getAnswer(key) {
      this.answerLookups++;
      return answers.get(answerKey(key));
    },
    async putAnswer(key, stored) {
      answers.set(answerKey(key), stored);
    },
  };
}

const denseList = [hit('a', 0.9), hit('b', 0.8), hit('c', 0.7)];
const bm25List = [hit('c', 12), hit('b', 6)];
const sparseList = [hit('d', 0.4), hit('a', 0.2)];

describe('signalsFor', () => {
  it('asks each mode for its signals, hybrid for every signal the model has', () => {
    expect(signalsFor('dense', false)).toEqual(['dense']);
    expect(signalsFor('bm25', false)).toEqual(['bm25']);
    expect(signalsFor('sparse', true)).toEqual(['sparse']);
    expect(signalsFor('hybrid', false)).toEqual(['dense', 'bm25']);
    expect(signalsFor('hybrid', true)).toEqual(['dense', 'sparse', 'bm25']);
  });

  it('refuses sparse on a model without a sparse head as a validation problem', () => {
    expect(() => signalsFor('sparse', false)).toThrow(
      expect.objectContaining({ code: 'validation_failed', message: expect.stringMatching(/sparse head/) }),
    );
  });
});

describe('search engine: what each mode asks for', () => {
  it('hybrid on a dense-only model: one dense query embedding, a BM25 vector from the catalog, both searched', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList, bm25: bm25List } }] });
    const answer = await h.search(request({ mode: 'hybrid' }));

    expect(h.embeds).toEqual([
      { model: 'plain', texts: ['travel policy'], kind: 'query', outputs: ['dense'] },
    ]);
    const termIds = lexicalTermIds('travel policy');
    // Read with the collection's index version and model, in one round trip: no read of their own.
    expect(h.statesWithTerms).toEqual([{ collectionId, termIds }]);
    expect(h.termStats).toEqual([]);
    // The BM25 list is searched while the query is embedded, the dense one once it is.
    expect(h.events).toEqual(['search bm25', 'embedded', 'search dense']);
    for (const asked of h.searches) {
      expect(asked.scope).toEqual({ tenantId, collectionId });
      expect(asked.principals).toBeNull();
      expect(asked.metadataFilter).toBe('');
      expect(asked.limit).toBe(400);
    }
    const asked = { vectors: searchedVectors(h) };
    expect(Object.keys(asked.vectors).sort()).toEqual(['bm25', 'dense']);
    expect(asked.vectors.dense).toEqual(['travel policy'.length, 1]);
    expect(asked.vectors.bm25).toEqual(
      bm25QueryVector(termIds, { chunkCount: 10, documentFrequency: new Map(termIds.map((id) => [id, 2])) }),
    );
    expect(answer.signals).toEqual(['dense', 'bm25']);
    expect(answer.fusion).toBe('weighted');
    expect(answer.weights).toEqual({ dense: 0.6, bm25: 0.4 });
    expect(answer.reranked).toBe(false);
    expect(answer.indexVersion).toBe(4);
  });

  it('hybrid on a model with a sparse head adds the sparse signal from the same embedding call', async () => {
    const h = harness({
      models: [{ name: 'm3', sparse: true, lists: { dense: denseList, sparse: sparseList, bm25: bm25List } }],
    });
    const answer = await h.search(request({ mode: 'hybrid' }));
    expect(h.embeds.map((e) => e.outputs)).toEqual([['dense', 'sparse']]);
    expect(h.events).toEqual(['search bm25', 'embedded', 'search dense+sparse']);
    expect(searchedVectors(h).sparse).toEqual({ indices: [7], values: [0.5] });
    expect(answer.signals).toEqual(['dense', 'sparse', 'bm25']);
    // The defaults 0.6 / 0.25 / 0.4, normalised over the three.
    expect(answer.weights.dense).toBeCloseTo(0.6 / 1.25, 12);
    expect(answer.weights.sparse).toBeCloseTo(0.25 / 1.25, 12);
    expect(answer.weights.bm25).toBeCloseTo(0.4 / 1.25, 12);
    expect(new Set(ids(answer))).toEqual(new Set(['a', 'b', 'c', 'd']));
  });

  it('dense asks for the dense vector alone and never reads term statistics', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList, bm25: bm25List } }] });
    const answer = await h.search(request({ mode: 'dense' }));
    expect(h.embeds.map((e) => e.outputs)).toEqual([['dense']]);
    expect(h.termStats).toEqual([]);
    expect(h.statesWithTerms).toEqual([]);
    expect(Object.keys(h.searches[0]!.vectors)).toEqual(['dense']);
    expect(answer).toMatchObject({ signals: ['dense'], fusion: 'none', weights: { dense: 1 } });
    expect(ids(answer)).toEqual(['a', 'b', 'c']);
    expect(answer.results.map((r) => r.score)).toEqual([0.9, 0.8, 0.7]);
  });

  it('bm25 embeds nothing and ranks by the BM25 list alone', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList, bm25: bm25List } }] });
    const answer = await h.search(request({ mode: 'bm25' }));
    expect(h.embeds).toEqual([]);
    expect(Object.keys(h.searches[0]!.vectors)).toEqual(['bm25']);
    expect(answer).toMatchObject({ signals: ['bm25'], fusion: 'none', weights: { bm25: 1 } });
    expect(ids(answer)).toEqual(['c', 'b']);
    expect(answer.results[0]?.scores).toEqual({ bm25: 12 });
  });

  it('sparse on a model with a sparse head asks for the sparse vector only', async () => {
    const h = harness({ models: [{ name: 'm3', sparse: true, lists: { sparse: sparseList } }] });
    const answer = await h.search(request({ mode: 'sparse' }));
    expect(h.embeds.map((e) => e.outputs)).toEqual([['sparse']]);
    expect(Object.keys(h.searches[0]!.vectors)).toEqual(['sparse']);
    expect(ids(answer)).toEqual(['d', 'a']);
  });

  it('sparse on a model without one is a 422 before anything is embedded or searched', async () => {
    const h = harness();
    await expect(h.search(request({ mode: 'sparse' }))).rejects.toMatchObject({ code: 'validation_failed' });
    expect(h.embeds).toEqual([]);
    expect(h.searches).toEqual([]);
  });

  it("with Milvus's BM25 function the query text goes to the store, no term statistics are read, and no lexical score is shown", async () => {
    const h = harness({
      models: [{ name: 'plain', bm25Source: 'milvus-function', lists: { dense: denseList, bm25: bm25List } }],
    });
    const answer = await h.search(request({ mode: 'hybrid' }));
    expect(h.termStats).toEqual([]);
    expect(h.statesWithTerms).toEqual([]);
    expect(h.searches[0]!.vectors.bm25).toBe('travel policy');
    for (const result of answer.results) expect(result.scores.bm25).toBeUndefined();
  });

  it("passes the caller's principals and the compiled metadata filter to the store and to PostgreSQL's last check", async () => {
    const filter: SearchFilter = {
      and: [
        { field: 'team', eq: 'hr' },
        { field: 'year', gte: 2020 },
      ],
    };
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }] });
    const answer = await h.search(
      request({ mode: 'dense', filter, scope: { principals: ['group:hr', 'user:ann'] } }),
    );
    expect(h.searches[0]!.metadataFilter).toBe(compileMilvusFilter(filter));
    expect(h.searches[0]!.principals).toEqual(['group:hr', 'user:ann']);
    expect(h.visible).toEqual([
      {
        scope: { tenantId, collectionId, principals: ['group:hr', 'user:ann'], filter },
        chunkIds: ['a', 'b', 'c'],
      },
    ]);
    expect(ids(answer)).toEqual(['a', 'b', 'c']);
  });

  it('takes the candidate count from its tuning', async () => {
    const h = harness({
      models: [{ name: 'plain', lists: { dense: denseList } }],
      tuning: { candidates: 50 },
    });
    await h.search(request({ mode: 'dense' }));
    expect(h.searches[0]!.limit).toBe(50);
  });
});

describe('search engine: fusion and paging', () => {
  const lists = { dense: denseList, bm25: [hit('c', 12), hit('b', 11.9)] };

  it('orders hybrid results as weighted fusion of the lists ranks them, with each signal’s score and rank', async () => {
    const h = harness({ models: [{ name: 'plain', lists }] });
    const answer = await h.search(request({ mode: 'hybrid' }));
    const expected = fuse(lists, { dense: 0.6, bm25: 0.4 }, 'weighted');
    expect(ids(answer)).toEqual(expected.map((f) => f.chunkId));
    expect(answer.results.map((r) => r.score)).toEqual(expected.map((f) => f.score));
    const b = answer.results.find((r) => r.chunk_id === 'b')!;
    expect(b.scores).toEqual({ dense: 0.8, bm25: 11.9 });
    expect(b.ranks).toEqual({ dense: 2, bm25: 2 });
  });

  it('orders by reciprocal rank when asked for rrf, with the caller’s weights', async () => {
    const h = harness({ models: [{ name: 'plain', lists }] });
    const answer = await h.search(
      request({ mode: 'hybrid', fusion: 'rrf', weights: { dense: 0.6, bm25: 0.4 } }),
    );
    // a: 0.6/61; b: 0.6/62 + 0.4/62; c: 0.6/63 + 0.4/61.
    expect(ids(answer)).toEqual(['b', 'c', 'a']);
    expect(answer.results[0]?.score).toBeCloseTo(1 / 62, 12);
    expect(answer).toMatchObject({ fusion: 'rrf', weights: { dense: 0.6, bm25: 0.4 } });
  });

  it('cuts pages from one ranking: PostgreSQL is asked for exactly the page’s chunks, next offset after it', async () => {
    const many = Array.from({ length: 25 }, (_, i) => hit(`c${String(i).padStart(2, '0')}`, 1 - i / 100));
    const h = harness({ models: [{ name: 'plain', lists: { dense: many } }] });
    const second = await h.search(request({ mode: 'dense', offset: 10, top_k: 5 }));
    expect(h.visible[0]!.chunkIds).toEqual(['c10', 'c11', 'c12', 'c13', 'c14']);
    expect(ids(second)).toEqual(['c10', 'c11', 'c12', 'c13', 'c14']);
    expect(second.nextOffset).toBe(15);
    const last = await h.search(request({ mode: 'dense', offset: 20, top_k: 5 }));
    expect(ids(last)).toEqual(['c20', 'c21', 'c22', 'c23', 'c24']);
    expect(last.nextOffset).toBeNull();
  });

  it('leaves a chunk PostgreSQL no longer shows out of its page instead of pulling the next one forward', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], hidden: ['b'] });
    const answer = await h.search(request({ mode: 'dense', top_k: 2 }));
    expect(ids(answer)).toEqual(['a']);
    expect(answer.nextOffset).toBe(2);
  });

  it('groups by document: the best chunk of each document, before the page is cut', async () => {
    const h = harness({
      models: [
        {
          name: 'plain',
          lists: { dense: [hit('a1', 0.9, 'doc-a'), hit('a2', 0.8, 'doc-a'), hit('b1', 0.7, 'doc-b')] },
        },
      ],
    });
    const answer = await h.search(request({ mode: 'dense', group_by_document: true, top_k: 2 }));
    expect(ids(answer)).toEqual(['a1', 'b1']);
    expect(answer.nextOffset).toBeNull();
  });
});

describe('search engine: missing signals and failing dependencies', () => {
  it('a signal that returns no list counts as empty: hybrid ranks by the other', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }] });
    const answer = await h.search(request({ mode: 'hybrid' }));
    expect(Object.keys(searchedVectors(h)).sort()).toEqual(['bm25', 'dense']);
    expect(ids(answer)).toEqual(['a', 'b', 'c']);
    expect(answer.signals).toEqual(['dense', 'bm25']);
  });

  it('a single signal with no list answers no results', async () => {
    const h = harness({ models: [{ name: 'plain', lists: {} }] });
    const answer = await h.search(request({ mode: 'bm25' }));
    expect(answer.results).toEqual([]);
    expect(answer.nextOffset).toBeNull();
    expect(h.visible[0]!.chunkIds).toEqual([]);
  });

  it('an embedding service failure fails the search before the store is asked', async () => {
    const down = new AppError('dependency_unavailable', 'embedding service down');
    const h = harness({ models: [{ name: 'plain', embedFails: down, lists: { dense: denseList } }] });
    await expect(h.search(request({ mode: 'dense' }))).rejects.toBe(down);
    expect(h.searches).toEqual([]);
  });

  it('an embedding answer without an embedding is a model error', async () => {
    const h = harness({ models: [{ name: 'plain', embedsNothing: true, lists: { dense: denseList } }] });
    await expect(h.search(request({ mode: 'dense' }))).rejects.toMatchObject({ code: 'model_error' });
    expect(h.searches).toEqual([]);
  });

  it('a vector store failure fails the search and caches nothing', async () => {
    const cache = memoryCache();
    const down = new AppError('dependency_unavailable', 'milvus down');
    const h = harness({ models: [{ name: 'plain', storeFails: down }], cache });
    await expect(h.search(request({ mode: 'dense' }))).rejects.toBe(down);
    expect(cache.answers.size).toBe(0);
    expect(h.visible).toEqual([]);
  });

  it('a PostgreSQL failure reading the collection state fails the search before anything is searched', async () => {
    const down = new Error('connection refused');
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], stateFails: down });
    await expect(h.search(request({ mode: 'dense' }))).rejects.toBe(down);
    expect(h.searches).toEqual([]);
  });

  it('a later page of a collection that changed since the first is a 409, nothing searched', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], indexVersion: 5 });
    await expect(h.search(request({ mode: 'dense', scope: { indexVersion: 4 } }))).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(h.searches).toEqual([]);
  });

  it('searches with the model the catalog records when the caller’s scope named another', async () => {
    const newer = { name: 'newer', manifestHash: 'hash-newer' };
    const h = harness({
      models: [
        { name: 'older', lists: { dense: [hit('old', 1)] } },
        { name: 'newer', lists: { dense: [hit('new', 1)] } },
      ],
      recorded: newer,
    });
    const answer = await h.search(
      request({ mode: 'dense', scope: { model: { name: 'older', manifestHash: 'hash-older' } } }),
    );
    expect(h.spaceRequests.map((m) => m?.name)).toEqual(['older', 'newer']);
    expect(h.embeds.at(-1)?.model).toBe('newer');
    expect(h.searches.map((s) => s.model)).toEqual(['newer']);
    expect(ids(answer)).toEqual(['new']);
  });

  it('reads term statistics on their own when only the recorded model builds BM25 from them', async () => {
    const newer = { name: 'newer', manifestHash: 'hash-newer' };
    const h = harness({
      models: [
        { name: 'older', bm25Source: 'milvus-function', lists: { bm25: [hit('old', 1)] } },
        { name: 'newer', lists: { bm25: [hit('new', 1)] } },
      ],
      recorded: newer,
    });
    const answer = await h.search(
      request({ mode: 'bm25', scope: { model: { name: 'older', manifestHash: 'hash-older' } } }),
    );
    expect(h.statesWithTerms).toEqual([]);
    expect(h.termStats).toEqual([{ collectionId, termIds: lexicalTermIds('travel policy') }]);
    expect(h.searches.map((s) => [s.model, typeof s.vectors.bm25])).toEqual([['newer', 'object']]);
    expect(ids(answer)).toEqual(['new']);
  });
});

describe('search engine: cache', () => {
  it('serves a repeated search from the answer cache without searching again', async () => {
    const cache = memoryCache();
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList, bm25: bm25List } }], cache });
    const first = await h.search(request());
    // The answer is written without waiting: let the write land.
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.answers.size).toBe(1);
    expect(h.searches).toHaveLength(2); // hybrid: the BM25 list, then the dense one
    const second = await h.search(request());
    expect(h.searches).toHaveLength(2);
    expect(ids(second)).toEqual(ids(first));
    expect(second.timings.cached).toBe(true);
    expect(first.timings.cached).toBe(false);
  });

  it('reuses a cached query embedding instead of asking the embedding service again', async () => {
    const cache = memoryCache();
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], cache });
    await h.search(request({ mode: 'dense' }));
    await new Promise((resolve) => setImmediate(resolve));
    await h.search(request({ mode: 'dense', top_k: 2 }));
    expect(h.embeds).toHaveLength(1);
    expect(h.searches).toHaveLength(2);
  });

  it('asks the answer cache while the collection state is still being read, not after', async () => {
    const cache = memoryCache();
    let release = () => {};
    const stateRead = new Promise<void>((resolve) => {
      release = resolve;
    });
    const h = harness({ models: [{ name: 'plain', lists: { bm25: bm25List } }], cache, stateRead });
    const searching = h.search(request({ mode: 'bm25' }));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(cache.answerLookups).toBe(1);
    expect(h.searches).toEqual([]);
    release();
    expect(ids(await searching)).toEqual(['c', 'b']);
    expect(cache.answerLookups).toBe(1);
  });

  it('serves no cached answer once a write has moved the index version on, and stores the new one in its place', async () => {
    const cache = memoryCache();
    const lists = { bm25: bm25List };
    const before = harness({ models: [{ name: 'plain', lists }], cache, indexVersion: 4 });
    await before.search(request({ mode: 'bm25' }));
    await new Promise((resolve) => setImmediate(resolve));
    const after = harness({ models: [{ name: 'plain', lists }], cache, indexVersion: 5 });
    const fresh = await after.search(request({ mode: 'bm25' }));
    expect(fresh.timings.cached).toBe(false);
    expect(fresh.indexVersion).toBe(5);
    expect(after.searches).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.answers.size).toBe(1);
    expect([...cache.answers.values()][0]?.index).toEqual({ indexVersion: 5, model: 'plain' });
    // At version 5 it is now served; a search that still reads version 4 gets no answer of version 5.
    expect((await after.search(request({ mode: 'bm25' }))).timings.cached).toBe(true);
    expect((await before.search(request({ mode: 'bm25' }))).timings.cached).toBe(false);
  });

  it('serves no cached answer computed with another model, at the same index version', async () => {
    const cache = memoryCache();
    const one = harness({ models: [{ name: 'one', lists: { dense: denseList } }], cache });
    await one.search(request({ mode: 'dense' }));
    await new Promise((resolve) => setImmediate(resolve));
    const other = harness({ models: [{ name: 'other', lists: { dense: denseList } }], cache });
    expect((await other.search(request({ mode: 'dense' }))).timings.cached).toBe(false);
    expect(other.searches).toHaveLength(1);
  });

  it('embeds at once, beside the shared cache lookup, when no query embedding is in flight', async () => {
    const cache = memoryCache();
    let answer = () => {};
    cache.embeddingGate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], cache });
    const searching = h.search(request({ mode: 'dense' }));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(cache.embeddingLookups).toBe(1);
    expect(h.embeds).toHaveLength(1); // the lookup has not answered yet
    answer();
    expect(ids(await searching)).toEqual(['a', 'b', 'c']);
    expect(searchedVectors(h).dense).toEqual(['travel policy'.length, 1]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.embeddings).toEqual(['dense']); // the model's embedding, stored for the other replicas
  });

  it('takes a shared cache hit over the model’s answer, on a replica that never saw the query', async () => {
    const cache = memoryCache();
    cache.seed(
      { tenantId, model: 'plain', outputs: ['dense'], query: 'travel policy' },
      { tokens: 2, dense: [9, 9] },
    );
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], cache });
    await h.search(request({ mode: 'dense' }));
    expect(searchedVectors(h).dense).toEqual([9, 9]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cache.embeddings).toEqual([]); // a hit is not written back
  });

  it('under load, with a query embedding in flight, asks the shared cache first: a hit calls no model', async () => {
    const cache = memoryCache();
    cache.seed(
      { tenantId, model: 'plain', outputs: ['dense'], query: 'known' },
      { tokens: 1, dense: [9, 9] },
    );
    let embedded = () => {};
    const embedGate = new Promise<void>((resolve) => {
      embedded = resolve;
    });
    const h = harness({ models: [{ name: 'plain', embedGate, lists: { dense: denseList } }], cache });
    const first = h.search(request({ mode: 'dense', query: 'unknown' }));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(h.embeds.map((e) => e.texts)).toEqual([['unknown']]);
    const second = await h.search(request({ mode: 'dense', query: 'known' }));
    expect(ids(second)).toEqual(['a', 'b', 'c']);
    expect(h.embeds.map((e) => e.texts)).toEqual([['unknown']]);
    embedded();
    await first;
  });

  it('remembers query embeddings in the process: a later page asks neither the shared cache nor the model', async () => {
    const cache = memoryCache();
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], cache });
    await h.search(request({ mode: 'dense' }));
    await h.search(request({ mode: 'dense', offset: 1 }));
    await h.search(request({ mode: 'dense', query: 'travel policy', scope: { tenantId: 'globex' } }));
    expect(cache.embeddingLookups).toBe(2); // the first search, and another tenant's
    expect(h.embeds).toHaveLength(2);
  });

  it('remembers nothing in the process when its memory is off: every search asks the shared cache', async () => {
    const cache = memoryCache();
    const h = harness({
      models: [{ name: 'plain', lists: { dense: denseList } }],
      cache,
      embeddingMemory: { entries: 0, ttlMs: 0 },
    });
    await h.search(request({ mode: 'dense' }));
    await new Promise((resolve) => setImmediate(resolve));
    await h.search(request({ mode: 'dense', offset: 1 }));
    expect(cache.embeddingLookups).toBe(2);
  });

  it('keys answers by the caller’s principals: another principal set searches again', async () => {
    const cache = memoryCache();
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }], cache });
    await h.search(request({ mode: 'dense', scope: { principals: ['group:hr'] } }));
    await new Promise((resolve) => setImmediate(resolve));
    await h.search(request({ mode: 'dense', scope: { principals: ['group:it'] } }));
    expect(h.searches).toHaveLength(2);
  });
});

describe('search engine: ColBERT re-rank', () => {
  const passages = {
    'text of a': [[1, 0]], // MaxSim 1
    'text of b': [
      [1, 0],
      [0, 1],
    ], // 2
    'text of c': [[0.6, 0.8]], // 1.4
  };

  it('re-ranks the fused candidates by MaxSim only when asked, on a model with ColBERT vectors', async () => {
    const model = {
      name: 'm3',
      sparse: true,
      colbert: true,
      lists: { dense: denseList },
      colbertPassages: passages,
    };
    const plain = harness({ models: [model] });
    const unranked = await plain.search(request({ mode: 'dense' }));
    expect(ids(unranked)).toEqual(['a', 'b', 'c']);
    expect(plain.embeds.map((e) => e.outputs)).toEqual([['dense']]);
    expect(unranked.reranked).toBe(false);

    const h = harness({ models: [model] });
    const answer = await h.search(request({ mode: 'dense', rerank: 'colbert' }));
    expect(ids(answer)).toEqual(['b', 'c', 'a']);
    expect(answer.signals).toEqual(['dense', 'colbert']);
    expect(answer.reranked).toBe(true);
    expect(h.embeds.map((e) => [e.kind, e.outputs])).toEqual([
      ['query', ['dense']],
      ['query', ['colbert']],
      ['passage', ['colbert']],
    ]);
    expect(h.embeds[2]!.texts).toEqual(['text of a', 'text of b', 'text of c']);
  });

  it('re-scores only the first rerankDepth candidates', async () => {
    const h = harness({
      models: [{ name: 'm3', colbert: true, lists: { dense: denseList }, colbertPassages: passages }],
      tuning: { rerankDepth: 2 },
    });
    const answer = await h.search(request({ mode: 'dense', rerank: 'colbert' }));
    expect(h.embeds.find((e) => e.kind === 'passage')!.texts).toEqual(['text of a', 'text of b']);
    expect(ids(answer)).toEqual(['b', 'a', 'c']);
  });

  it('refuses a ColBERT re-rank on a model without ColBERT vectors before embedding or searching', async () => {
    const h = harness({ models: [{ name: 'plain', lists: { dense: denseList } }] });
    await expect(h.search(request({ mode: 'dense', rerank: 'colbert' }))).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/plain has none/),
    });
    expect(h.embeds).toEqual([]);
    expect(h.searches).toEqual([]);
  });
});
