import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { contextLine, contextualText } from '@rag/documents/chunk-context';
import { writeTinyModel } from '@rag/models/tiny-model';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import type { MilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkRows, collectionId, openVectorStore, upload } from './ingest-support.js';
import { type Stack, startStack } from './stack.js';

/**
 * `pnpm doctor --reindex` on a collection indexed the way builds before context lines did: each chunk
 * embedded from its text alone, with BM25 terms (the model's token ids then) that no query term of today's
 * analyzer matches. The reindex must give every
 * chunk the vectors ingestion writes now (title line + text), so the title is found again, while the chunk's
 * text, offsets and highlights stay its own.
 */

const repoRoot = findRepoRoot();
let stack: Stack;
let modelDir: string;
let store: MilvusStore;

const title = 'Kestrel Handbook';
// A heading word ("retention") and the title's words are in no chunk's text.
const markdown =
  '# Travel\n\nThe travel policy explains how bookings, expenses and approvals work for every team member.\n\n' +
  '## Retention\n\nReceipts are kept for seven years and every request names its budget owner.\n';

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-reindex-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir, gatewayEnv: { INGEST_BACKOFF_MS: '200' } });
  store = await openVectorStore(stack);
});

afterAll(async () => {
  await store?.close();
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

async function doctor(...args: string[]) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'apps/ingest-worker/dist/doctor-cli.js'), ...args],
    { env: { PATH: process.env.PATH ?? '', ...stack.serviceEnv('ingest-worker') } },
  );
  return stdout;
}

/** The embedding service's vectors for texts, as the worker and the search service get them. */
async function embed(texts: string[], kind: 'query' | 'passage') {
  const embedding = stack.services.find((s) => s.name === 'embedding-service')!;
  const response = await fetch(`${embedding.url}/v1/embed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-service-token': stack.serviceToken },
    body: JSON.stringify({ inputs: texts, kind, outputs: ['dense', 'sparse'] }),
  });
  expect(response.status).toBe(200);
  return (
    (await response.json()) as {
      data: { dense: number[]; sparse: { indices: number[]; values: number[] } }[];
    }
  ).data;
}

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);

describe('doctor --reindex', () => {
  it('re-embeds and re-indexes a collection indexed without context lines, title and headings included', async () => {
    expect((await stack.call('POST', '/v1/collections', { body: { name: 'legacy' } })).status).toBe(201);
    const posted = await upload(
      stack,
      'legacy',
      { name: 'handbook.md', bytes: new TextEncoder().encode(markdown), type: 'text/markdown' },
      { external_id: 'handbook', title },
    );
    expect(posted.status).toBe(202);
    await stack.waitForStatus(posted.body.id, undefined, ['ready']);
    const collection = await collectionId(stack, 'default', 'legacy');
    const chunks = await chunkRows(stack, posted.body.id);
    expect(chunks.some((chunk) => chunk.heading_path.includes('Retention'))).toBe(true);

    // What an earlier build wrote: vectors of the chunk's text alone, and no BM25 terms today's queries match
    // (a row without BM25 terms gets a placeholder nothing matches).
    const old = await embed(
      chunks.map((chunk) => chunk.text),
      'passage',
    );
    await store.replace(
      chunks.map((chunk, i) => ({
        chunkId: chunk.id,
        tenantId: 'default',
        collectionId: collection,
        documentId: posted.body.id,
        dense: old[i]!.dense,
        sparse: old[i]!.sparse,
        metadata: {},
        acl: null,
      })),
    );
    await store.flush();

    const search = (query: string, mode: string) =>
      stack.call('POST', '/v1/search', { body: { collection: 'legacy', query, mode, top_k: 10 } });
    // The title is in no chunk's text: an old index cannot find it by BM25.
    expect((await search('kestrel', 'bm25')).body.results).toEqual([]);
    expect((await search('retention', 'bm25')).body.results).toEqual([]);
    const query = 'kestrel handbook receipts';
    const [queryVector] = await embed([query], 'query');
    const denseScore = async () => {
      const answer = await search(query, 'dense');
      expect(answer.status).toBe(200);
      return answer.body.results[0].scores.dense as number;
    };
    const first = chunks.at(-1)!;
    const before = await denseScore();
    expect(before).toBeCloseTo(Math.max(...old.map((o) => dot(queryVector!.dense, o.dense))), 4);

    const report = await doctor('--reindex', '--collection', 'legacy');
    expect(report).toContain(`reindexed default/legacy: 1 documents, ${chunks.length} chunks`);

    // Dense: the stored vectors are now those of the context line and the text, as ingestion embeds them.
    const now = await embed(
      chunks.map((chunk) => contextualText(contextLine(title, chunk.heading_path), chunk.text)),
      'passage',
    );
    const after = await denseScore();
    expect(after).toBeCloseTo(Math.max(...now.map((n) => dot(queryVector!.dense, n.dense))), 4);
    expect(after).not.toBeCloseTo(before, 4);

    // BM25: the title's word matches every chunk again; text, offsets and highlights stay the chunk's own.
    const found = await search('kestrel', 'bm25');
    expect(found.body.results.map((r: { chunk_id: string }) => r.chunk_id).sort()).toEqual(
      chunks.map((chunk) => chunk.id).sort(),
    );
    const hit = found.body.results.find((r: { chunk_id: string }) => r.chunk_id === first.id);
    expect(hit.text).toBe(first.text);
    expect(hit.start_offset).toBe(first.start_offset);
    expect(hit.highlights).toEqual([]);
    // The heading path too: found by a word only its heading has.
    const underHeading = chunks.filter((chunk) => chunk.heading_path.includes('Retention'));
    expect(
      (await search('retention', 'bm25')).body.results.map((r: { chunk_id: string }) => r.chunk_id),
    ).toEqual(underHeading.map((chunk) => chunk.id));
    expect(await chunkRows(stack, posted.body.id)).toEqual(chunks);
  });
});
