import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core) against the whole stack
 * with the real multilingual model: everything a user does goes through the page, and the page goes through
 * the public API. Screenshots of the main screens land in test-artifacts/console/ (not committed).
 */
const repoRoot = findRepoRoot();
const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const docsDir = join(sharedDir, 'data', 'docs');
const artifacts = join(repoRoot, 'test-artifacts', 'console');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const files = {
  pdf: 'en_markitdown_test.pdf',
  docx: 'en_docling_lorem_ipsum.docx',
  japanese: 'ja_nihonkoku-kenpo.md',
};

let stack: Stack;
let browser: Browser;
let page: Page;
let consoleUrl: string;
/** A webhook receiver on this machine, answering 204 and keeping the event types it got. */
let receiver: Server;
const receivedTypes: string[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      receivedTypes.push(JSON.parse(body).type);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  stack = await startStack({
    modelDir: join(sharedDir, 'models', 'multilingual-e5-small-q4'),
    modelManifest: join(repoRoot, 'packages', 'models', 'manifests', 'multilingual-e5-small.json'),
    // The webhook receiver is on this machine, a private address.
    gatewayEnv: { CONSOLE_DIR: join(repoRoot, 'apps', 'console', 'dist'), WEBHOOK_ALLOW_PRIVATE: 'true' },
  });
  consoleUrl = `${stack.services.at(-1)!.url}/console/`;
  await mkdir(artifacts, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Deletions and revocations ask for confirmation; the user says yes.
  page.on('dialog', (dialog) => void dialog.accept());
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  receiver?.close();
});

/** A screenshot of the whole page, or of the window only (`window`), as the README shows them. */
const shot = (name: string, area: 'page' | 'window' = 'page') =>
  page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: area === 'page' });

async function signIn(key: string) {
  await page.goto(consoleUrl);
  await page.getByLabel('API key or JWT').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('credential').waitFor();
}

/** Runs a search and waits for its own answer (the results carry the count of searches come back). */
async function search(query: string) {
  const outcomes = page.getByTestId('outcomes');
  const before = (await outcomes.count()) > 0 ? Number(await outcomes.getAttribute('data-runs')) : 0;
  await page.getByLabel('Query').fill(query);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator(`[data-testid="outcomes"][data-runs="${before + 1}"]`).waitFor();
}

const hits = (column = 'A') => page.getByTestId(`results-${column}`).getByTestId('hit');

describe('the web console', () => {
  it('is served by the gateway at /console, and / leads there', async () => {
    await page.goto(stack.services.at(-1)!.url);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await shot('sign-in');
  });

  it('signs in with the admin key and creates a collection', async () => {
    await signIn(stack.adminKey);
    await page.getByLabel('New collection').fill('handbook');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('tr[data-collection="handbook"]').waitFor();
    // The key stays out of the URL and in this tab's session storage.
    expect(page.url()).not.toContain(stack.adminKey);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([stack.adminKey]);
  });

  it('uploads a PDF, a DOCX and a Japanese text and shows each becoming ready without a reload', async () => {
    await page.getByRole('link', { name: 'handbook', exact: true }).click();
    await page
      .getByTestId('file-input')
      .setInputFiles([
        join(docsDir, 'pdf', files.pdf),
        join(docsDir, 'docx', files.docx),
        join(docsDir, 'md', files.japanese),
      ]);
    for (const name of Object.values(files)) {
      await page.locator(`li[data-upload="${name}"][data-phase="ready"]`).waitFor({ timeout: 200_000 });
    }
    await page.locator('tr[data-document] .status-ready').nth(2).waitFor();
    expect(await page.locator('tr[data-document]').count()).toBe(3);
    await expect(page.getByTestId('collection-summary').textContent()).resolves.toMatch(
      /3 documents · 3 ready/,
    );
    await shot('documents');
    await shot('documents-window', 'window');
  });

  it("shows a document's chunks with their page, and edits its metadata in place", async () => {
    await page.locator(`tr[data-document="${files.pdf}"] a`).click();
    await page.getByTestId('chunk').first().waitFor();
    await expect(page.getByTestId('chunk').first().textContent()).resolves.toMatch(/page 1/);
    await page.getByLabel('Metadata (JSON)').fill('{"lang": "en", "kind": "paper"}');
    await page.getByLabel(/ACL principals/).fill('group:research');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('document-acl').getByText('group:research').waitFor();
    await shot('document');

    await page.getByRole('link', { name: 'handbook' }).click();
    await page.locator(`tr[data-document="${files.japanese}"] a`).click();
    await page.getByLabel('Metadata (JSON)').fill('{"lang": "ja"}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('dl.fields pre').getByText('"lang": "ja"').waitFor();
  });

  it('finds the English document first, with highlights and each signal’s score and rank', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await search('multi-agent conversation framework for LLM applications');
    const first = hits().first();
    expect(await first.getAttribute('data-external-id')).toBe(files.pdf);
    expect(await first.locator('mark').count()).toBeGreaterThan(0);
    for (const signal of ['dense', 'bm25']) {
      await expect(first.locator(`td[data-signal="${signal}"]`).textContent()).resolves.toMatch(
        /^-?\d+\.\d{4} #\d+$/,
      );
    }
    await expect(page.getByTestId('server-timing').textContent()).resolves.toMatch(/embed [\d.]+ ms/);
    await shot('search-window', 'window');
    await page.getByText('Request as JSON, curl, rag search or SDK code').click();
    await expect(page.getByTestId('request-json').textContent()).resolves.toContain('"mode": "hybrid"');
    await shot('search');
  });

  it('finds the Japanese document first, its highlights cut on whole characters', async () => {
    await search('天皇は日本国の象徴であり日本国民統合の象徴');
    const first = hits().first();
    expect(await first.getAttribute('data-external-id')).toBe(files.japanese);
    const marks = await first.locator('mark').allTextContents();
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.join('')).toMatch(/^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+$/u);
    expect(marks.some((mark) => mark.includes('象徴'))).toBe(true);
  });

  it('builds a metadata filter, and compares two settings side by side', async () => {
    const settingsA = page.getByTestId('settings-A');
    await settingsA.getByRole('button', { name: 'Add condition' }).click();
    await settingsA.getByPlaceholder('field').fill('lang');
    await settingsA.getByPlaceholder('value').fill('ja');
    // The vector store takes the edited metadata within moments of the edit.
    await expect
      .poll(
        async () => {
          await search('multi-agent conversation framework');
          return hits().evaluateAll((all) => all.map((hit) => hit.getAttribute('data-external-id')));
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toEqual(expect.arrayContaining([files.japanese]));
    expect(
      new Set(await hits().evaluateAll((all) => all.map((h) => h.getAttribute('data-external-id')))),
    ).toEqual(new Set([files.japanese]));
    await expect(page.getByTestId('request-json').textContent()).resolves.toContain('"field": "lang"');

    await page.getByLabel('compare two settings side by side').check();
    await settingsA.getByRole('button', { name: /Remove/ }).click();
    await page.getByTestId('settings-B').getByLabel('Mode').selectOption('bm25');
    await search('agents that converse to solve tasks');
    await page.getByTestId('results-B').getByTestId('hit').first().waitFor();
    const bFirst = page.getByTestId('results-B').getByTestId('hit').first();
    await expect(bFirst.locator('td[data-signal="bm25"]').textContent()).resolves.toMatch(/#1$/);
    await expect(bFirst.locator('.moved').textContent()).resolves.toMatch(/in the other column/);
    await shot('compare');
  });

  it('sets the webhook, sends it a test event and removes it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhook' }).click();
    await page.getByText('No webhook is set.').waitFor();
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/rag-events`;
    await page.getByLabel('URL').fill(url);
    await page.getByLabel(/Signing secret/).fill('whsec-console-0123456789');
    await page.getByRole('button', { name: 'Save webhook' }).click();
    await page.getByTestId('webhook-state').getByText(url).waitFor();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await expect(page.getByTestId('webhook-note').textContent()).resolves.toMatch(
      /The receiver answered 204/,
    );
    expect(receivedTypes).toContain('webhook.test');
    await page.getByRole('button', { name: 'Remove webhook' }).click();
    await page.getByText('No webhook is set.').waitFor();
  });

  it('creates a key shown once, and revokes another', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    const createKey = async (name: string, role: string) => {
      // A label's name includes its control's value ("Role reader: ..."), hence the prefixes.
      await page.getByLabel(/^Name/).fill(name);
      await page.getByLabel(/^Role/).selectOption(role);
      await page.getByRole('button', { name: 'Create key' }).click();
      await page.locator(`tr[data-key-name="${name}"]`).waitFor();
      return (await page.getByTestId('created-key').locator('code').textContent())!.trim();
    };
    const temporaryKey = await createKey('temporary', 'editor');
    expect((await stack.call('GET', '/v1/collections', { key: temporaryKey })).status).toBe(200);
    await page
      .locator('tr[data-key-name="temporary"]')
      .getByRole('button', { name: /Revoke/ })
      .click();
    await page
      .locator('tr[data-key-name="temporary"]')
      .getByText(/^revoked/)
      .waitFor();
    // Revoked in the console, refused by the server from the next request on.
    expect((await stack.call('GET', '/v1/collections', { key: temporaryKey })).status).toBe(401);

    const readerKey = await createKey('console-reader', 'reader');
    expect(readerKey).not.toBe(temporaryKey);
    await shot('keys');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(readerKey);
    await expect(page.getByTestId('credential').textContent()).resolves.toContain('reader');
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Collections', 'Search']);
    await page.locator('tr[data-collection="handbook"]').waitFor();
    expect(await page.getByLabel('New collection').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Delete/ }).count()).toBe(0);

    // Asking for an admin screen by its address: the page renders, the server refuses.
    await page.goto(`${consoleUrl}#/keys`);
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/^403 forbidden/);
    await shot('reader-refused');
  });

  it('keeps working on a narrow window', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${consoleUrl}#/search?collection=handbook`);
    await search('象徴');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('search-narrow');
  });
});
