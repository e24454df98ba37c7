import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DataDirStack, dropStackState, startDataDirStack } from '../../bench/restore-stack.mjs';

/**
 * `pnpm backup` and `pnpm restore` on a stack laid out as `pnpm start` lays out .data: documents ingested and
 * searched, a backup, every data store destroyed (the PostgreSQL schema, object storage, Milvus Lite's files,
 * the whole data folder), a restore, and the same searches answer with the same chunks in the same order. Once
 * from a backup of the stopped stack (Milvus copied) and once from a backup taken while it ran (vectors
 * rebuilt from PostgreSQL by the worker); refusals for a running stack, a damaged backup, another model and a
 * target that still holds data.
 */
const repoRoot = findRepoRoot();
let workDir: string;
let modelDir: string;
let dataDir: string;
let stack: DataDirStack | undefined;
let readerKey: string;
let stackNames: { schema: string; redisKeyPrefix: string };

const queries = [
  'how often should the filter be rinsed',
  'travel expenses need receipts',
  'warranty claim for a broken motor',
  '返品の手続き',
];
const modes = ['hybrid', 'dense', 'bm25'] as const;

type Recorded = Record<string, Array<{ chunk_id: string; document_id: string; score: number }>>;

async function searchAll(target: DataDirStack): Promise<Recorded> {
  const recorded: Recorded = {};
  for (const mode of modes) {
    for (const query of queries) {
      const answer = await target.call(
        'POST',
        '/v1/search',
        { collection: 'handbook', query, top_k: 8, mode },
        readerKey,
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      recorded[`${mode}: ${query}`] = answer.body.results.map(
        (r: { chunk_id: string; document_id: string; score: number }) => ({
          chunk_id: r.chunk_id,
          document_id: r.document_id,
          score: r.score,
        }),
      );
    }
  }
  return recorded;
}

/** Runs one of the ops commands as `pnpm backup` / `pnpm restore` run it. */
function ops(
  command: 'backup' | 'restore',
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'scripts', 'ops', `${command}.mjs`), ...args],
      { env: { ...process.env, MODEL_DIR: modelDir, ...env }, timeout: 180_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

function backupPath(output: string): string {
  const path = /^backup=(.+)$/m.exec(output)?.[1];
  if (!path) throw new Error(`no backup= line in:\n${output}`);
  return path;
}

/** Every file under object storage with its bytes, to compare before and after. */
async function storageContents(): Promise<Record<string, string>> {
  const root = join(dataDir, 'storage');
  const contents: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      contents[path.slice(root.length)] = (await readFile(path)).toString('base64');
    }
  }
  return contents;
}

/** The data stores gone, as after a lost disk: schema, Redis keys, the whole data folder. */
async function destroyEverything(): Promise<void> {
  await dropStackState(stackNames);
  await rm(dataDir, { recursive: true, force: true });
}

let before: Recorded;
let storageBefore: Record<string, string>;
let documentIds: string[];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'rag-backup-e2e-'));
  modelDir = join(workDir, 'tiny-m3');
  dataDir = join(workDir, 'data');
  await writeTinyModel(modelDir);
  stack = await startDataDirStack({ dataDir, modelDir });
  stackNames = { schema: stack.schema, redisKeyPrefix: stack.redisKeyPrefix };
  expect((await stack.call('POST', '/v1/collections', { name: 'handbook' })).status).toBe(201);
  const key = await stack.call('POST', '/v1/api-keys', { tenant: 'default', role: 'reader' });
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  readerKey = key.body.key;

  const paragraphs = (topic: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${topic} paragraph ${i}: ${topic} rules explained in detail.`).join(
      '\n\n',
    );
  const texts: Array<[string, string]> = [
    ['vacuum', `Rinse the washable filter every month. ${paragraphs('vacuum maintenance', 12)}`],
    ['travel', `Travel expenses need receipts. ${paragraphs('travel policy', 10)}`],
    ['warranty', `A broken motor is covered by the warranty claim form. ${paragraphs('warranty', 8)}`],
    ['returns-ja', '返品の手続きは購入から三十日以内に行ってください。返品の際はレシートが必要です。'],
    ['deleted', 'This document is deleted before the backup.'],
  ];
  documentIds = [];
  for (const [externalId, text] of texts) {
    const answer = await stack.call('POST', '/v1/collections/handbook/documents', {
      external_id: externalId,
      title: externalId,
      text,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    documentIds.push(answer.body.id);
  }
  // A file upload, kept in object storage.
  const form = new FormData();
  form.set('document', JSON.stringify({ external_id: 'upload', title: 'Uploaded manual' }));
  form.set(
    'file',
    new Blob([`# Uploaded manual\n\n${paragraphs('uploaded filter care', 6)}`], { type: 'text/markdown' }),
    'manual.md',
  );
  const uploaded = await fetch(`${stack.gatewayUrl}/v1/collections/handbook/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminKey}` },
    body: form,
  });
  expect(uploaded.status).toBe(202);
  documentIds.push(((await uploaded.json()) as { id: string }).id);
  for (const id of documentIds) await waitReady(stack, id, 1);
  // A second version of one document, and a deleted one: the backup holds the state searchers see.
  const travelId = documentIds[1]!;
  // Other content under the same external_id is the document's next version.
  const replaced = await stack.call('POST', '/v1/collections/handbook/documents', {
    external_id: 'travel',
    title: 'travel',
    text: `Travel expenses need receipts and approval. ${paragraphs('travel policy v2', 9)}`,
  });
  expect(replaced.status, JSON.stringify(replaced.body)).toBe(202);
  await waitReady(stack, travelId, 2);
  const deletedId = documentIds.splice(4, 1)[0]!;
  expect((await stack.call('DELETE', `/v1/documents/${deletedId}`)).status).toBe(202);
  for (;;) {
    if ((await stack.call('GET', `/v1/documents/${deletedId}`)).status === 404) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  before = await searchAll(stack);
  storageBefore = await storageContents();
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (stackNames) await dropStackState(stackNames).catch(() => {});
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function waitReady(target: DataDirStack, id: string, version: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { body } = await target.call('GET', `/v1/documents/${id}`);
    if (body.status === 'ready' && body.version === version) return;
    if (body.status === 'failed') throw new Error(`document ${id} failed: ${body.error}`);
    if (Date.now() > deadline) throw new Error(`document ${id} stuck: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The same chunks in the same order for every query. Scores are equal up to float noise for the modes given:
 * a rebuild embeds every chunk again (the same dense vectors) but weighs BM25 terms by the collection's
 * average chunk length now, where ingestion used the average as each document arrived.
 */
function expectSameResults(after: Recorded, sameScores: readonly string[]): void {
  expect(Object.keys(after)).toEqual(Object.keys(before));
  for (const [query, results] of Object.entries(before)) {
    expect(
      after[query]!.map((r) => r.chunk_id),
      query,
    ).toEqual(results.map((r) => r.chunk_id));
    if (!sameScores.some((mode) => query.startsWith(`${mode}:`))) continue;
    after[query]!.forEach((r, i) => {
      expect(r.score, `${query} #${i}`).toBeCloseTo(results[i]!.score, 5);
    });
  }
}

describe('backup and restore of the local stack', () => {
  it('records searches that find every document', () => {
    const found = new Set(Object.values(before).flatMap((results) => results.map((r) => r.document_id)));
    expect([...found].sort()).toEqual([...documentIds].sort());
  });

  it('restores a backup of the stopped stack, Milvus copied, with the same search results', async () => {
    await stack!.stop();
    const backup = await ops('backup', ['--data-dir', dataDir, '--out', join(workDir, 'backups')]);
    expect(backup.code, backup.output).toBe(0);
    const folder = backupPath(backup.output);
    const manifest = JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8'));
    expect(manifest.milvus.mode).toBe('copy');
    expect(manifest.postgres.counts.documents).toBe(documentIds.length);

    await destroyEverything();
    const restored = await ops('restore', [folder, '--data-dir', dataDir]);
    expect(restored.code, restored.output).toBe(0);
    expect(restored.output).toMatch(/^restore_s=\S+ .*milvus=copy$/m);

    stack = await startDataDirStack({ dataDir, modelDir });
    expect(stack.schema).toBe(stackNames.schema);
    expect(await storageContents()).toEqual(storageBefore);
    expectSameResults(await searchAll(stack), modes);
    const travel = await stack.call('GET', `/v1/documents/${documentIds[1]}`);
    expect(travel.body).toMatchObject({ status: 'ready', version: 2 });
  }, 300_000);

  it('restores a backup taken while the stack ran: the worker rebuilds the vectors from PostgreSQL', async () => {
    const backup = await ops('backup', ['--data-dir', dataDir, '--out', join(workDir, 'backups')]);
    expect(backup.code, backup.output).toBe(0);
    const folder = backupPath(backup.output);
    expect(JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')).milvus.mode).toBe('rebuild');

    const whileRunning = await ops('restore', [folder, '--data-dir', dataDir, '--replace']);
    expect(whileRunning.code).toBe(1);
    expect(whileRunning.output).toMatch(/the stack on .* is running \(Milvus Lite holds .*LOCK/);

    await stack!.stop();
    stack = undefined;
    const occupied = await ops('restore', [folder, '--data-dir', dataDir]);
    expect(occupied.code).toBe(1);
    expect(occupied.output).toMatch(/the target holds data .*PostgreSQL schema .* Pass --replace/);

    await destroyEverything();
    // Damaged copies: a changed byte in the dump, a missing archive, no manifest at all.
    const corrupt = join(workDir, 'corrupt');
    await cp(folder, corrupt, { recursive: true });
    const dump = await readFile(join(corrupt, 'postgres.dump'));
    dump[Math.floor(dump.length / 2)]! ^= 0xff;
    await writeFile(join(corrupt, 'postgres.dump'), dump);
    const refusedCorrupt = await ops('restore', [corrupt, '--data-dir', dataDir]);
    expect(refusedCorrupt.code).toBe(1);
    expect(refusedCorrupt.output).toMatch(/is corrupt: postgres\.dump does not match its sha256/);
    const incomplete = join(workDir, 'incomplete');
    await cp(folder, incomplete, { recursive: true });
    await rm(join(incomplete, 'storage.tar'));
    const refusedIncomplete = await ops('restore', [incomplete, '--data-dir', dataDir]);
    expect(refusedIncomplete.code).toBe(1);
    expect(refusedIncomplete.output).toMatch(/is incomplete: storage\.tar missing/);
    await rm(join(incomplete, 'manifest.json'));
    expect((await ops('restore', [incomplete, '--data-dir', dataDir])).output).toMatch(
      /is incomplete: it has no manifest\.json/,
    );

    // Another model: the same graph with another manifest name is another model.
    const otherModel = join(workDir, 'other-model');
    await cp(modelDir, otherModel, { recursive: true });
    const manifestPath = join(otherModel, 'rag-model.json');
    const modelManifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    await writeFile(manifestPath, JSON.stringify({ ...modelManifest, name: `${modelManifest.name}-other` }));
    const refusedModel = await ops('restore', [folder, '--data-dir', dataDir], { MODEL_DIR: otherModel });
    expect(refusedModel.code).toBe(1);
    expect(refusedModel.output).toMatch(
      /the backup was made with the model .* but this stack would run .*-other/,
    );
    // Nothing was touched by the refusals.
    expect((await readdir(workDir)).includes('data')).toBe(false);

    const restored = await ops('restore', [folder, '--data-dir', dataDir]);
    expect(restored.code, restored.output).toBe(0);
    expect(restored.output).toMatch(/milvus=rebuild$/m);
    stack = await startDataDirStack({ dataDir, modelDir });
    expect(await storageContents()).toEqual(storageBefore);
    // The worker compares PostgreSQL with the empty Milvus at start and embeds every chunk again.
    const deadline = Date.now() + 120_000;
    let after = await searchAll(stack);
    while (JSON.stringify(chunkIds(after)) !== JSON.stringify(chunkIds(before)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      after = await searchAll(stack);
    }
    expectSameResults(after, ['dense']);
  }, 300_000);
});

function chunkIds(recorded: Recorded): string[][] {
  return Object.values(recorded).map((results) => results.map((r) => r.chunk_id));
}
