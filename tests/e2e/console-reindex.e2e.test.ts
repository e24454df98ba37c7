import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { type ServiceProcess, startService } from '@rag/testing/service-process';
import { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionId } from './ingest-support.js';
import { type Json, type Stack, startStack } from './stack.js';

/**
 * Changing a collection's embedding model from the web console (Debian's chromium, driven by playwright-core),
 * against the whole stack serving two generated models (two embedding services, 32 and 48 dimensions, as
 * model-lifecycle.e2e does): an admin picks the served model and confirms with the keyboard, follows the
 * move's progress, and sees the new model once it switched; a move can be cancelled; a reader sees the model
 * but cannot change it.
 */
const repoRoot = findRepoRoot();
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = join(repoRoot, 'test-artifacts', 'console');
const documents = 40;

let stack: Stack;
let browser: Browser;
let page: Page;
let redis: Redis;
let consoleUrl: string;
let secondService: ServiceProcess | undefined;
const modelDirs: string[] = [];
let firstModel: string;
let secondModel: string;

async function modelName(url: string): Promise<string> {
  const answer = await fetch(`${url}/v1/model`, { headers: { 'x-service-token': stack.serviceToken } });
  return ((await answer.json()) as { name: string }).name;
}

/**
 * The collection's writer lock, held as a worker holds it: a move writes each batch of documents and makes its
 * switch under it, so while the test holds it the move stands still and the page must show where it stands.
 */
async function writerLock(collection: string) {
  const key = `${stack.redisPrefix}:collection-writer:${await collectionId(stack, 'default', collection)}`;
  let token = randomUUID();
  expect(await redis.set(key, token, 'PX', 300_000, 'NX')).toBe('OK');
  const release = async () => {
    expect(await redis.get(key)).toBe(token);
    await redis.del(key);
  };
  return {
    release,
    /** Lets the worker take the lock once (one batch written) and takes it back as soon as it lets go. */
    async letOneWriteThrough() {
      await release();
      const deadline = Date.now() + 60_000;
      while ((await redis.get(key)) === null) {
        if (Date.now() > deadline) throw new Error('the worker did not take the writer lock');
      }
      token = randomUUID();
      while ((await redis.set(key, token, 'PX', 300_000, 'NX')) !== 'OK') {
        if (Date.now() > deadline) throw new Error('the worker did not let the writer lock go');
      }
    },
  };
}

async function signIn(key: string) {
  await page.goto(consoleUrl);
  await page.getByLabel('API key or JWT').fill(key);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('credential').waitFor();
}

const reindexShown = (state: string) => page.locator(`[data-testid="reindex"][data-state="${state}"]`);

beforeAll(async () => {
  for (const options of [{}, { dim: 48, seed: 7 }]) {
    const dir = await mkdtemp(join(tmpdir(), 'console-model-'));
    await writeTinyModel(dir, options);
    modelDirs.push(dir);
  }
  const secondPort = (await freePort())!;
  stack = await startStack({
    modelDir: modelDirs[0]!,
    extraEnv: { EMBEDDING_SERVICE_URLS: `http://127.0.0.1:${secondPort}` },
    gatewayEnv: { CONSOLE_DIR: join(repoRoot, 'apps', 'console', 'dist') },
    workerEnv: { REINDEX_BATCH_DOCUMENTS: '8' },
  });
  secondService = await startService({
    app: 'embedding-service',
    repoRoot,
    port: secondPort,
    env: { SERVICE_TOKEN: stack.serviceToken, MODEL_DIR: modelDirs[1]!, LOG_LEVEL: 'warn' },
  });
  firstModel = await modelName(stack.services[0]!.url);
  secondModel = await modelName(secondService.url);
  redis = new Redis('redis://127.0.0.1:6379');
  consoleUrl = `${stack.services.at(-1)!.url}/console/`;
  await mkdir(artifacts, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

  expect((await stack.call('POST', '/v1/collections', { body: { name: 'manuals' } })).status).toBe(201);
  const added = await stack.call('POST', '/v1/collections/manuals/documents/batch', {
    body: {
      documents: Array.from({ length: documents }, (_, i) => ({
        external_id: `manual-${i}`,
        text: `Manual ${i}: how to service the ${['pump', 'valve', 'boiler', 'fan'][i % 4]} in winter.`,
      })),
    },
  });
  expect(added.body.accepted).toBe(documents);
  const deadline = Date.now() + 120_000;
  while ((await stack.call('GET', '/v1/collections/manuals')).body.documents.ready < documents) {
    if (Date.now() > deadline) throw new Error('the documents did not get ready');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
});

afterAll(async () => {
  await browser?.close();
  redis?.disconnect();
  await secondService?.stop();
  await stack?.stop();
  for (const dir of modelDirs) await rm(dir, { recursive: true, force: true });
});

describe("a collection's model in the console", () => {
  it('moves a collection to another model: chosen and confirmed by keyboard, its progress, then the new model', async () => {
    await signIn(stack.adminKey);
    await page.locator('tr[data-collection="manuals"] a').first().click();
    const model = page.getByTestId('collection-model');
    await expect.poll(() => model.textContent()).toContain(`the default model (${firstModel})`);

    const lock = await writerLock('manuals');
    const select = page.getByLabel('Change model');
    await select.selectOption(secondModel);
    await select.focus();
    // Tab to the button, Enter; the dialog opens on its safe answer, Tab to the confirmation, Enter.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain(`to ${secondModel}?`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });

    const running = reindexShown('running');
    const label = page.locator('#reindex-progress-label');
    const bar = running.locator('progress');
    await expect
      .poll(() => label.textContent())
      .toBe(`Moving to ${secondModel}: 0 of ${documents} documents`);
    expect([await bar.getAttribute('value'), await bar.getAttribute('max')]).toEqual([
      '0',
      String(documents),
    ]);
    expect(await running.getByRole('button', { name: 'Cancel move' }).isEnabled()).toBe(true);

    // A batch or more written, the switch not yet (it needs the lock the test took back): the page follows.
    await lock.letOneWriteThrough();
    const progress = (await stack.call('GET', '/v1/collections/manuals/reindex')).body;
    expect(progress).toMatchObject({ state: 'running', to_model: secondModel });
    const done = progress.documents.done as number;
    expect(done).toBeGreaterThan(0);
    await expect
      .poll(() => label.textContent())
      .toBe(`Moving to ${secondModel}: ${done} of ${documents} documents`);
    expect(await bar.getAttribute('value')).toBe(String(done));
    // Searches answer from the old model until the switch.
    expect((await stack.call('GET', '/v1/collections/manuals')).body.model).toBeNull();
    await page.screenshot({ path: join(artifacts, 'reindex-running.png'), fullPage: true });

    // The collections list shows the model and the running move's progress, and follows it without a reload.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collections' }).click();
    const row = page.locator('tr[data-collection="manuals"]');
    const listed = row.getByTestId('list-reindex');
    await expect.poll(() => listed.textContent()).toContain(`moving to ${secondModel}: ${done}/${documents}`);
    expect(await row.getByTestId('model').textContent()).toContain('the default model');
    expect(await listed.locator('progress').getAttribute('value')).toBe(String(done));
    await lock.letOneWriteThrough();
    // The worker records a batch's progress just after it lets the lock go.
    let later = done;
    await expect
      .poll(
        async () => {
          later = (await stack.call('GET', '/v1/collections/manuals/reindex')).body.documents.done as number;
          return later;
        },
        { timeout: 15_000 },
      )
      .toBeGreaterThan(done);
    await expect
      .poll(() => listed.textContent(), { timeout: 15_000 })
      .toContain(`moving to ${secondModel}: ${later}/${documents}`);
    await page.screenshot({ path: join(artifacts, 'reindex-list-running.png'), fullPage: true });
    await row.locator('a').first().click();

    await lock.release();
    await reindexShown('switched').waitFor({ timeout: 120_000 });
    await expect.poll(() => model.textContent()).toContain(secondModel);
    expect(await reindexShown('switched').textContent()).toContain(`to ${secondModel}`);
    await page.screenshot({ path: join(artifacts, 'reindex-switched.png') });
    // Once switched, the list shows the new model and no move in progress.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Collections' }).click();
    await expect.poll(() => row.getByTestId('model').textContent()).toBe(secondModel);
    expect(await listed.count()).toBe(0);
    await row.locator('a').first().click();
    await expect.poll(() => model.textContent()).toContain(secondModel);
    const collection = await stack.call('GET', '/v1/collections/manuals');
    expect(collection.body).toMatchObject({ model: secondModel, reindex: { state: 'switched' } });
    const search = await stack.call('POST', '/v1/search', {
      body: { collection: 'manuals', query: 'service the boiler', mode: 'dense', top_k: 3 },
    });
    expect(search.status).toBe(200);
    expect((search.body.results as Json[]).length).toBe(3);
  }, 240_000);

  it('cancels a running move from the console; the collection stays on its model', async () => {
    const lock = await writerLock('manuals');
    await page.getByLabel('Change model').selectOption(firstModel);
    await page.getByRole('button', { name: 'Change model', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Change model', exact: true }).click();
    const running = reindexShown('running');
    await running.getByRole('button', { name: 'Cancel move' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel move', exact: true }).click();
    await reindexShown('cancelled').waitFor();
    await lock.release();
    expect(await page.getByTestId('collection-model').textContent()).toContain(secondModel);
    const collection = await stack.call('GET', '/v1/collections/manuals');
    expect(collection.body).toMatchObject({ model: secondModel, reindex: { state: 'cancelled' } });
  });

  it("shows a reader the collection's model and its last move, without the controls", async () => {
    const reader = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'default', role: 'reader' } });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(String(reader.body.key));
    await page.locator('tr[data-collection="manuals"] a').first().click();
    await expect.poll(() => page.getByTestId('collection-model').textContent()).toContain(secondModel);
    await reindexShown('cancelled').waitFor();
    expect(await page.getByLabel('Change model').count()).toBe(0);
  });
});
