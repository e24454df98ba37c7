// Exact search for `pnpm eval`: the reference the product is measured against. It runs in the eval process
// with the product's own code and model, but none of its plumbing: documents are extracted and chunked by
// @rag/documents exactly as the worker does (title and heading path as each chunk's context line), embedded by
// the embedding service's engine loaded in-process from the same MODEL_DIR, and searched brute force (every
// chunk scored, no ANN); BM25 uses @rag/lexical's analyzer with statistics counted over the final collection.
// What separates the product's numbers from these is what indexing and serving lose.
//
// Embeddings are cached under .data/eval-cache/<model>/ (one file per text kind), keyed by the text's hash,
// so a second run of the same set costs only the search.
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const dist = (path) => import(join(repoRoot, path));

/** The product's candidate depth per signal (search-engine.ts `candidates`): fusion sees the same lists. */
export const candidateDepth = 400;

/**
 * What the product does, unless a study asks for other BM25 parameters or another candidate depth
 * (`pnpm eval --exact-only --exact-k1 ... --exact-b ... --exact-candidates ...`).
 */
function studySettings(options, defaultBm25Params) {
  const bm25 = { k1: options.k1 ?? defaultBm25Params.k1, b: options.b ?? defaultBm25Params.b };
  const depth = options.candidates ?? candidateDepth;
  if (!(bm25.k1 > 0) || !(bm25.b >= 0 && bm25.b <= 1))
    throw new Error(`BM25 needs k1 > 0 and b in [0, 1], got k1 ${bm25.k1}, b ${bm25.b}`);
  if (!(Number.isInteger(depth) && depth > 0))
    throw new Error(`candidates must be a positive integer, got ${depth}`);
  return { bm25, depth };
}

/**
 * @param {{ modelDir: string, manifestPath?: string, overlapTokens: number, log: (m: string) => void,
 *   k1?: number, b?: number, candidates?: number }} options
 */
export async function loadExactSearch(options) {
  const { createEmbedder } = await dist('apps/embedding-service/dist/engine/embedder.js');
  const { chunkDocument } = await dist('packages/documents/dist/chunker.js');
  const { contextualText } = await dist('packages/documents/dist/chunk-context.js');
  const { extractInlineText } = await dist('packages/documents/dist/extract-document.js');
  const { documentChunkTerms } = await dist('packages/lexical/dist/chunk-terms.js');
  const { lexicalTermIds } = await dist('packages/lexical/dist/analyzer.js');
  const { defaultBm25Params } = await dist('packages/lexical/dist/bm25.js');
  const settings = studySettings(options, defaultBm25Params);
  // No deadline that matters: on a busy machine a batch may wait long behind the stack's own work.
  const embedder = await createEmbedder({
    modelDir: options.modelDir,
    manifestPath: options.manifestPath,
    requestTimeoutMs: 3_600_000,
  });
  const cache = await embeddingCache(basename(resolve(options.modelDir)));

  const tokenize = async (texts) =>
    (await embedder.tokenize(texts, { addSpecialTokens: false, offsets: true, truncate: false })).map(
      (t) => ({
        ids: t.ids,
        offsets: t.offsets ?? [],
      }),
    );
  // The worker's budget (chunk-budget.ts): the model's length less its special tokens and passage prefix.
  const framing = await embedder.tokenize([embedder.info.prefixes?.passage ?? ''], {
    addSpecialTokens: true,
    offsets: false,
    truncate: false,
  });
  const maxTokens = embedder.info.maxLength - (framing[0]?.ids.length ?? 0);

  async function embed(texts, kind) {
    const missing = [...new Set(texts.filter((text) => !cache.has(kind, text)))];
    for (let i = 0; i < missing.length; i += 64) {
      const batch = missing.slice(i, i + 64);
      const vectors = await embedder.embed(batch, { kind, outputs: ['dense'] });
      await cache.add(
        kind,
        batch.map((text, j) => [text, vectors[j].dense]),
      );
      if (missing.length > 64)
        options.log(`exact: embedded ${Math.min(i + 64, missing.length)}/${missing.length} ${kind}s`);
    }
    return texts.map((text) => cache.get(kind, text));
  }

  return {
    /**
     * Chunks and embeds the documents as the product would; `documents` are `{id, title, text}` as sent.
     * Returns a searcher over them.
     */
    async index(documents) {
      const chunks = [];
      for (const doc of documents) {
        const extracted = extractInlineText(doc.text, { mediaType: 'text/plain' });
        const docChunks = await chunkDocument(extracted, tokenize, {
          maxTokens,
          overlapTokens: options.overlapTokens,
          title: doc.title ?? null,
        });
        const terms = documentChunkTerms(docChunks);
        for (const [i, chunk] of docChunks.entries())
          chunks.push({ documentId: doc.id, chunk, terms: terms[i] });
      }
      options.log(`exact: ${documents.length} documents in ${chunks.length} chunks`);
      const dense = await embed(
        chunks.map(({ chunk }) => contextualText(chunk.context, chunk.text)),
        'passage',
      );
      const bm25 = bm25Index(
        chunks.map(({ terms }) => terms),
        settings.bm25,
      );
      return {
        /** Each signal's top candidates per query, as chunk lists [{documentId, score}] best first. */
        async search(queries) {
          const queryVectors = await embed(queries, 'query');
          return queries.map((query, q) => ({
            dense: topCandidates(
              dense.map((vector) => dot(vector, queryVectors[q])),
              chunks,
              settings.depth,
            ),
            bm25: topCandidates(bm25.score(lexicalTermIds(query)), chunks, settings.depth),
          }));
        },
      };
    },
    /** The BM25 parameters and candidate depth these exact rows use. */
    settings,
    close: () => embedder.close(),
  };
}

/**
 * BM25 as the product computes it (its k1 and b), but with the statistics of the finished collection for every
 * chunk.
 */
function bm25Index(chunkTerms, { k1, b }) {
  const frequency = new Map();
  let total = 0;
  for (const { counted } of chunkTerms) {
    total += counted.length;
    for (const id of new Set(counted)) frequency.set(id, (frequency.get(id) ?? 0) + 1);
  }
  const n = chunkTerms.length;
  const averageLength = n > 0 ? total / n : 0;
  // Postings: term id -> [[chunk index, saturated tf]], from each chunk's indexed terms.
  const postings = new Map();
  chunkTerms.forEach(({ indexed }, index) => {
    const tf = new Map();
    for (const id of indexed) tf.set(id, (tf.get(id) ?? 0) + 1);
    const norm = k1 * (1 - b + (b * indexed.length) / (averageLength || indexed.length || 1));
    for (const [id, count] of tf) {
      if (!postings.has(id)) postings.set(id, []);
      postings.get(id).push([index, (count * (k1 + 1)) / (count + norm)]);
    }
  });
  return {
    score(queryTerms) {
      const scores = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
      const counts = new Map();
      for (const id of queryTerms) counts.set(id, (counts.get(id) ?? 0) + 1);
      for (const [id, count] of counts) {
        const df = frequency.get(id) ?? 0;
        if (df === 0) continue;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        for (const [index, saturated] of postings.get(id) ?? []) {
          scores[index] =
            (scores[index] === Number.NEGATIVE_INFINITY ? 0 : scores[index]) + count * idf * saturated;
        }
      }
      return scores;
    },
  };
}

function dot(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** The best `depth` chunks by score (chunks a signal does not match at all are left out). */
function topCandidates(scores, chunks, depth) {
  const order = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] !== Number.NEGATIVE_INFINITY) order.push(i);
  order.sort((x, y) => scores[y] - scores[x] || x - y);
  return order.slice(0, depth).map((i) => ({ chunk: i, documentId: chunks[i].documentId, score: scores[i] }));
}

/**
 * Fusions of signal lists into one ranking of documents (each document at its best chunk, as
 * `group_by_document` does). `dbsf` is the product's default (fusion.ts, "weighted"); the others are for comparison.
 */
export const fusions = {
  minmax: (lists, weights) => fuseChunks(lists, weights, minMax),
  rrf: (lists, weights) => fuseChunks(lists, weights, (hits) => hits.map((_, rank) => 1 / (60 + rank + 1))),
  zscore: (lists, weights) => fuseChunks(lists, weights, zScores),
  /** Distribution-based score fusion: each list mapped from [mean − 3σ, mean + 3σ] to [0, 1]. */
  dbsf: (lists, weights) => fuseChunks(lists, weights, threeSigma),
};

function fuseChunks(lists, weights, normalise) {
  const fused = new Map();
  for (const [signal, hits] of Object.entries(lists)) {
    const weight = weights[signal] ?? 0;
    const values = normalise(hits);
    hits.forEach((hit, i) => {
      const entry = fused.get(hit.chunk) ?? { chunk: hit.chunk, documentId: hit.documentId, score: 0 };
      entry.score += weight * values[i];
      fused.set(hit.chunk, entry);
    });
  }
  return [...fused.values()].sort((x, y) => y.score - x.score || x.chunk - y.chunk);
}

function minMax(hits) {
  if (hits.length === 0) return [];
  const scores = hits.map((h) => h.score);
  const min = Math.min(...scores);
  const max = Math.max(...scores);
  return max === min ? scores.map(() => 1) : scores.map((s) => (s - min) / (max - min));
}

function moments(hits) {
  const scores = hits.map((h) => h.score);
  const mean = scores.reduce((sum, s) => sum + s, 0) / Math.max(scores.length, 1);
  const variance = scores.reduce((sum, s) => sum + (s - mean) ** 2, 0) / Math.max(scores.length, 1);
  return { scores, mean, sd: Math.sqrt(variance) };
}

function zScores(hits) {
  const { scores, mean, sd } = moments(hits);
  return sd === 0 ? scores.map(() => 1) : scores.map((s) => (s - mean) / sd);
}

function threeSigma(hits) {
  const { scores, mean, sd } = moments(hits);
  return sd === 0 ? scores.map(() => 1) : scores.map((s) => (s - (mean - 3 * sd)) / (6 * sd));
}

/** Document ids in order of their best chunk. */
export function documentRanking(chunkHits) {
  const seen = new Set();
  const ranked = [];
  for (const hit of chunkHits) {
    if (seen.has(hit.documentId)) continue;
    seen.add(hit.documentId);
    ranked.push(hit.documentId);
  }
  return ranked;
}

async function embeddingCache(model) {
  const folder = join(repoRoot, '.data', 'eval-cache', model);
  await mkdir(folder, { recursive: true });
  const maps = new Map();
  const key = (text) => createHash('sha256').update(text).digest('base64url');
  async function load(kind) {
    if (maps.has(kind)) return maps.get(kind);
    const map = new Map();
    const text = await readFile(join(folder, `${kind}.jsonl`), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [hash, vector] = JSON.parse(line);
      map.set(hash, new Float32Array(new Uint8Array(Buffer.from(vector, 'base64')).buffer));
    }
    maps.set(kind, map);
    return map;
  }
  await load('passage');
  await load('query');
  return {
    has: (kind, text) => maps.get(kind).has(key(text)),
    get: (kind, text) => maps.get(kind).get(key(text)),
    async add(kind, entries) {
      const map = maps.get(kind);
      const lines = entries.map(([text, vector]) => {
        const floats = Float32Array.from(vector);
        map.set(key(text), floats);
        return JSON.stringify([key(text), Buffer.from(floats.buffer).toString('base64')]);
      });
      await appendFile(join(folder, `${kind}.jsonl`), `${lines.join('\n')}\n`);
    },
  };
}
