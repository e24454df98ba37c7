// A BEIR-layout evaluation set (corpus.jsonl, queries.jsonl, qrels/test.tsv) and the ranking metrics scored on
// it, as pytrec_eval / BEIR compute them: `pnpm eval` and `pnpm bench:hybrid-depth` read and score sets here.
import { readFile } from 'node:fs/promises';

export async function readJsonl(path) {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** query id → (document id → relevance), judged-relevant pairs only (relevance > 0); the header line skipped. */
export async function readQrels(path) {
  const qrels = new Map();
  const lines = (await readFile(path, 'utf8')).split('\n').slice(1);
  for (const line of lines) {
    const [queryId, docId, score] = line.trim().split('\t');
    if (!queryId || !docId) continue;
    const relevance = Number(score);
    if (!(relevance > 0)) continue;
    if (!qrels.has(queryId)) qrels.set(queryId, new Map());
    qrels.get(queryId).set(docId, relevance);
  }
  return qrels;
}

/** Linear gain, ideal ranking from the qrels. */
export function ndcgAt(ranked, relevant, k) {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, i) => {
    dcg += (relevant.get(id) ?? 0) / Math.log2(i + 2);
  });
  const ideal = [...relevant.values()].sort((a, b) => b - a).slice(0, k);
  const idcg = ideal.reduce((sum, gain, i) => sum + gain / Math.log2(i + 2), 0);
  return idcg > 0 ? dcg / idcg : 0;
}

export function recallAt(ranked, relevant, k) {
  if (relevant.size === 0) return 0;
  return ranked.slice(0, k).filter((id) => relevant.has(id)).length / relevant.size;
}

export function mrrAt(ranked, relevant, k) {
  const index = ranked.slice(0, k).findIndex((id) => relevant.has(id));
  return index < 0 ? 0 : 1 / (index + 1);
}
