import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeTinyModel } from '@rag/models/tiny-model';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import type { MilvusStore } from '@rag/vector-store/milvus-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkRows, collectionId, openVectorStore, vectorChunkIds } from './ingest-support.js';
import { type Stack, startStack } from './stack.js';

/**
 * Faults end to end: the worker SIGKILLed in the middle of jobs and started again, a new version replacing
 * the old one while searches run, and the doctor finding and repairing differences between PostgreSQL and
 * Milvus. Only the end states are checked, never timings.
 */

const repoRoot = findRepoRoot();
let stack: Stack;
let modelDir: string;
let store: MilvusStore;

// Short lock and stalled-check periods, so a killed worker's job comes back within seconds.
const workerEnv = {
  WORKER_LOCK_DURATION_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
  COLLECTION_LOCK_TTL_MS: '2000',
  EMBED_BATCH_SIZE: '4',
  CHUNK_OVERLAP_TOKENS: '4',
};

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({ modelDir, gatewayEnv: { INGEST_BACKOFF_MS: '200' }, workerEnv });
  store = await openVectorStore(stack);
  for (const name of ['crashes', 'versions', 'doctor']) {
    expect((await stack.call('POST', '/v1/collections', { body: { name } })).status).toBe(201);
  }
});

afterAll(async () => {
  await store?.close();
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A long document: many paragraphs, so its job runs long enough to be killed in the middle. */
function longText(tag: string, paragraphs: number): string {
  return Array.from(
    { length: paragraphs },
    (_, i) =>
      `${tag} paragraph ${i}. The handbook explains travel, expenses and security rules in detail for every team. ` +
      `Section ${i} adds examples, exceptions and the approvals each request needs before anyone books anything.`,
  ).join('\n\n');
}

async function doctor(...args: string[]) {
  const run = promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'apps/ingest-worker/dist/doctor-cli.js'), ...args],
    {
      env: { PATH: process.env.PATH ?? '', ...stack.serviceEnv('ingest-worker') },
    },
  );
  try {
    const { stdout } = await run;
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Waits until a document of the list is being processed; false once all of them are done. */
async function waitForProcessing(ids: string[]): Promise<boolean> {
  for (;;) {
    const { rows } = await stack.db.query('SELECT status FROM documents WHERE id = ANY($1::uuid[])', [ids]);
    const statuses = rows.map((r: { status: string }) => r.status);
    if (statuses.includes('processing')) return true;
    if (statuses.every((status: string) => status === 'ready' || status === 'failed')) return false;
    await sleep(50);
  }
}

describe('worker crashes', () => {
  it('converges to one complete copy of each document after SIGKILLs in the middle of jobs', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await stack.call('POST', '/v1/collections/crashes/documents', {
        body: { external_id: `long-${i}`, text: longText(`doc${i}`, 60) },
      });
      expect(answer.status).toBe(202);
      ids.push(answer.body.id);
    }
    // Kill the worker whenever one of the documents is in the middle of its job, three times over, at
    // later and later points of the work. A fast machine may finish every job between two kills: then each
    // document gets a new version, so that there is a job to interrupt whatever this machine's speed.
    let kills = 0;
    let revisions = 0;
    while (kills < 3) {
      if (!(await waitForProcessing(ids))) {
        revisions += 1;
        expect(revisions).toBeLessThanOrEqual(10);
        for (const [i, id] of ids.entries()) {
          const answer = await stack.call('POST', '/v1/collections/crashes/documents', {
            body: { external_id: `long-${i}`, text: longText(`doc${i}-r${revisions}`, 60) },
          });
          expect(answer.status).toBe(202);
          expect(answer.body.id).toBe(id);
        }
        continue;
      }
      await sleep(kills * 400);
      await stack.restart('ingest-worker', 'SIGKILL');
      kills += 1;
    }
    const collection = await collectionId(stack, 'default', 'crashes');
    for (const id of ids) {
      const document = await stack.waitForStatus(id, undefined, ['ready', 'failed']);
      expect(document.status).toBe('ready');
      const rows = await chunkRows(stack, id);
      expect(rows.length).toBe(document.chunks);
      const vectors = await vectorChunkIds(store, { tenantId: 'default', collectionId: collection }, id);
      // No duplicates, nothing missing, nothing left over from an interrupted attempt.
      expect(new Set(vectors).size).toBe(vectors.length);
      expect(vectors).toEqual(rows.map((r) => r.id).sort());
    }
  });
});

describe('a new version under concurrent searches', () => {
  it('shows every search exactly one version of the document', async () => {
    const v1 = longText('ALPHAVERSION', 6);
    const v2 = longText('OMEGAVERSION', 9);
    const first = await stack.call('POST', '/v1/collections/versions/documents', {
      body: { external_id: 'doc', text: v1 },
    });
    await stack.waitForStatus(first.body.id, undefined, ['ready']);

    let stop = false;
    const seen: string[] = [];
    const searcher = (async () => {
      while (!stop) {
        const answer = await stack.call('POST', '/v1/search', {
          body: {
            collection: 'versions',
            query: 'handbook travel expenses approvals',
            top_k: 50,
            mode: 'dense',
          },
        });
        expect(answer.status).toBe(200);
        const texts = answer.body.results.map((r: { text: string }) => r.text).join(' ');
        const versions = [
          texts.includes('ALPHAVERSION') ? 'v1' : '',
          texts.includes('OMEGAVERSION') ? 'v2' : '',
        ]
          .filter(Boolean)
          .join('+');
        seen.push(versions || 'none');
      }
    })();
    const second = await stack.call('POST', '/v1/collections/versions/documents', {
      body: { external_id: 'doc', text: v2 },
    });
    expect(second.body.version).toBe(2);
    for (;;) {
      const document = await stack.waitForStatus(first.body.id, undefined, ['ready', 'failed']);
      expect(document.status).not.toBe('failed');
      if (document.ready_version === 2) break;
      await sleep(100);
    }
    // Keep searching a little after the swap, while the old vectors are removed.
    const after = seen.length;
    while (seen.length < after + 5) await sleep(50);
    stop = true;
    await searcher;

    expect(seen.length).toBeGreaterThan(5);
    expect(seen.filter((s) => s !== 'v1' && s !== 'v2')).toEqual([]);
    expect(seen[0]).toBe('v1');
    expect(seen.at(-1)).toBe('v2');
  });
});

describe('doctor', () => {
  it('reports orphans and missing vectors, and repairs them with --repair', async () => {
    const answer = await stack.call('POST', '/v1/collections/doctor/documents', {
      body: { external_id: 'checked', text: longText('doctor', 8), metadata: { team: 'ops' } },
    });
    await stack.waitForStatus(answer.body.id, undefined, ['ready']);
    const collection = await collectionId(stack, 'default', 'doctor');
    const scope = { tenantId: 'default', collectionId: collection };
    const rows = await chunkRows(stack, answer.body.id);

    const clean = await doctor('--collection', 'doctor');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/problems=0/);

    // A lost write (a vector gone) and a leftover (a vector of a document PostgreSQL does not know).
    await store.deleteByIds(scope, [rows[0]!.id]);
    const dim = store.space.dim;
    await store.insert([
      {
        chunkId: '00000000-0000-4000-8000-0000000000ff',
        tenantId: 'default',
        collectionId: collection,
        documentId: '00000000-0000-4000-8000-0000000000fe',
        dense: Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0)),
        sparse: { indices: [1], values: [0.5] },
        acl: null,
      },
    ]);
    await store.flush();

    const report = await doctor('--collection', 'doctor');
    expect(report.code).toBe(1);
    expect(report.stdout).toMatch(
      new RegExp(`default\\tdoctor\\t${rows.length}\\t${rows.length}\\t1\\t1\\t0\\tfalse`),
    );

    const repair = await doctor('--collection', 'doctor', '--repair');
    expect(repair.code).toBe(0);
    const after = await doctor('--collection', 'doctor');
    expect(after.stdout).toMatch(/problems=0/);
    expect(await vectorChunkIds(store, scope, answer.body.id)).toEqual(rows.map((r) => r.id).sort());

    // The repaired vector is the row ingestion writes: found by BM25 and by a metadata filter too.
    for (const mode of ['bm25', 'dense']) {
      const found = await stack.call('POST', '/v1/search', {
        body: {
          collection: 'doctor',
          query: rows[0]!.text.slice(0, 200),
          mode,
          top_k: 50,
          filter: { field: 'team', eq: 'ops' },
        },
      });
      expect(found.status).toBe(200);
      expect(found.body.results.map((r: { chunk_id: string }) => r.chunk_id)).toContain(rows[0]!.id);
    }
  });
});
