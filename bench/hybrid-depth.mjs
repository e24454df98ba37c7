// `pnpm bench:hybrid-depth <BEIR folder>...`: what the number of candidates per signal buys in quality.
//
// The search service fuses each signal's best 400 candidates (search-engine.ts `defaultTuning.candidates`). Fewer
// make the Milvus calls cheaper (`pnpm bench:search` prints their time at the default, 100 and 50); this prints the nDCG@10
// each depth gives, on the evaluation sets, with exact search and the product's default fusion (3σ
// normalisation, dense 0.6, bm25 0.4) over the top `depth` chunks of each signal, documents ranked at their
// best chunk. Exact search is `pnpm eval`'s (scripts/eval-exact.mjs): the same chunking, model and analyzer,
// no ANN, its embeddings cached in .data/eval-cache, so a set `pnpm eval` has seen costs only the search.
//
// MODEL_DIR as for `pnpm eval` (default: .data/models/multilingual-e5-small-fp32). Options: --queries N (the
// first N judged queries of each set), --depths 10,20,50,100,200,400. The last line: ndcg10_<set>_d<depth>=...
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ndcgAt, readJsonl, readQrels } from '../scripts/beir-set.mjs';
import { candidateDepth, documentRanking, fusions, loadExactSearch } from '../scripts/eval-exact.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const { values: args, positionals: folders } = parseArgs({
  allowPositionals: true,
  options: {
    queries: { type: 'string' },
    depths: { type: 'string', default: '10,20,50,100,200,400' },
  },
});
const depths = args.depths.split(',').map(Number);
if (folders.length === 0 || depths.some((d) => !(d >= 1 && d <= candidateDepth))) {
  console.error(
    `usage: pnpm bench:hybrid-depth <BEIR folder>... [--queries N] [--depths 10,...,${candidateDepth}]`,
  );
  process.exit(2);
}
const modelDir = process.env.MODEL_DIR ?? join(repoRoot, '.data/models/multilingual-e5-small-fp32');
if (!existsSync(modelDir)) throw new Error(`no model in ${modelDir}: set MODEL_DIR`);

const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

const exact = await loadExactSearch({
  modelDir,
  manifestPath: process.env.MODEL_MANIFEST,
  overlapTokens: Number(process.env.CHUNK_OVERLAP_TOKENS ?? 32),
  log,
});
const weights = { dense: 0.6, bm25: 0.4 };
const rows = [];
try {
  for (const folder of folders) {
    const set = basename(resolve(folder));
    const qrels = await readQrels(join(folder, 'qrels', 'test.tsv'));
    let queries = (await readJsonl(join(folder, 'queries.jsonl'))).filter((q) => qrels.has(String(q._id)));
    if (args.queries) queries = queries.slice(0, Number(args.queries));
    // Documents as `pnpm eval` sends them: title in its own field, documents without text left out.
    const documents = (await readJsonl(join(folder, 'corpus.jsonl')))
      .filter((doc) => typeof doc.text === 'string' && doc.text.trim() !== '')
      .map((doc) => ({
        id: String(doc._id),
        text: doc.text,
        ...(typeof doc.title === 'string' && doc.title.trim() !== ''
          ? { title: doc.title.slice(0, 1000) }
          : {}),
      }));
    const index = await exact.index(documents);
    const lists = await index.search(queries.map((query) => String(query.text).slice(0, 4000)));
    for (const depth of depths) {
      const ndcg = (rank) =>
        lists.reduce(
          (sum, signals, i) =>
            sum + ndcgAt(documentRanking(rank(signals)), qrels.get(String(queries[i]._id)), 10),
          0,
        ) / lists.length;
      const cut = (signals) => ({ dense: signals.dense.slice(0, depth), bm25: signals.bm25.slice(0, depth) });
      rows.push({
        set,
        depth,
        queries: lists.length,
        hybrid: ndcg((signals) => fusions.dbsf(cut(signals), weights)),
        dense: ndcg((signals) => cut(signals).dense),
        bm25: ndcg((signals) => cut(signals).bm25),
      });
    }
  }
} finally {
  await exact.close();
}
console.log(
  [
    `exact search, ${basename(resolve(modelDir))}, hybrid = 3σ fusion dense 0.6 + bm25 0.4 over each signal's top <depth> chunks`,
    '',
    '| set | queries | candidates per signal | hybrid nDCG@10 | dense nDCG@10 | bm25 nDCG@10 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.set} | ${r.queries} | ${r.depth} | ${r.hybrid.toFixed(4)} | ${r.dense.toFixed(4)} | ${r.bm25.toFixed(4)} |`,
    ),
    '',
  ].join('\n'),
);
console.log(rows.map((r) => `ndcg10_${r.set}_d${r.depth}=${r.hybrid.toFixed(4)}`).join(' '));
