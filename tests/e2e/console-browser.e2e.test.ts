import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { decodeJwt } from 'jose';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OidcIssuer, startOidcIssuer } from './oidc-issuer.js';
import { type Stack, startStack } from './stack.js';

/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core) against the whole stack
 * with the real multilingual model: everything a user does goes through the page, and the page goes through
 * the public API. The gateway trusts a real OpenID provider (oidc-provider) whose sign-in the console
 * offers. Screenshots of the main screens land in test-artifacts/console/ (not committed).
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
let issuer: OidcIssuer;
/**
 * The issuer's access tokens live this many seconds, so the test sees the console renew one (a quarter of its
 * lifetime before it ends) and the gateway refuse the old one (after its 30 s clock tolerance).
 */
const accessTokenTtl = 15;

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
  // Tokens for the tenant the bootstrap key administers, so both credentials see the same collections.
  issuer = await startOidcIssuer({ tenant: 'default', roles: ['admin'] }, { accessTokenTtl });
  stack = await startStack({
    modelDir: join(sharedDir, 'models', 'multilingual-e5-small-q4'),
    modelManifest: join(repoRoot, 'packages', 'models', 'manifests', 'multilingual-e5-small.json'),
    // The webhook receiver is on this machine, a private address.
    gatewayEnv: {
      CONSOLE_DIR: join(repoRoot, 'apps', 'console', 'dist'),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: issuer.audience,
      JWT_ALGORITHMS: 'RS256',
      JWT_JWKS_URL: issuer.jwksUrl,
      CONSOLE_OIDC_CLIENT_ID: issuer.clientId,
      CONSOLE_OIDC_RESOURCE: issuer.resource,
    },
  });
  consoleUrl = `${stack.services.at(-1)!.url}/console/`;
  await issuer.registerConsole(consoleUrl);
  await mkdir(artifacts, { recursive: true });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await issuer?.close();
  receiver?.close();
});

/** Deletions and revocations ask first, in the console's own dialog; the user says yes. */
async function confirmIn(p: Page, action: string) {
  await p.getByRole('dialog').getByRole('button', { name: action, exact: true }).click();
  await p.getByRole('dialog').waitFor({ state: 'hidden' });
}

// What runs in the page is written as JavaScript text: these tests are compiled without the DOM's types.

/** Where the focus is, and whether it shows (an outline on it, or on the label of a hidden file input). */
const focusNow = `(() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const ring = (e) => {
    const style = getComputedStyle(e);
    return style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) > 0;
  };
  const label = element.closest('label');
  return { shown: ring(element) || (label !== null && ring(label)), what: element.outerHTML.slice(0, 100) };
})()`;
/** Whether the element has the focus (a function the page runs with the element). */
const hasFocus = (element: { ownerDocument: { activeElement: unknown } }) =>
  element.ownerDocument.activeElement === element;

/** Presses Tab until `target` has the focus, and checks at every stop on the way that the focus shows. */
async function tabTo(p: Page, target: Locator, max = 80) {
  for (let stop = 0; stop < max; stop++) {
    await p.keyboard.press('Tab');
    const focus = (await p.evaluate(focusNow)) as { shown: boolean; what: string } | null;
    if (focus) expect(focus.shown, `a visible focus on ${focus.what}`).toBe(true);
    if (await target.evaluate(hasFocus)) return;
  }
  throw new Error(`${target} did not get the focus within ${max} presses of Tab`);
}

/**
 * Every control, link and heading of the screen that is shown lies inside the window (or inside the
 * scrolling frame that holds it, as wide tables do), and the page itself does not scroll sideways.
 */
const outsideTheWindow = `(() => {
  const width = document.documentElement.clientWidth;
  const frameOf = (element) => {
    for (let up = element.parentElement; up; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return up;
    }
    return element;
  };
  const problems = [];
  const essentials = document.querySelectorAll(
    'header a, header button, main h1, main h2, main a, main button, main input, main select, main textarea, main summary, main progress, main .hit-text',
  );
  for (const element of essentials) {
    const own = element.getBoundingClientRect();
    if ((own.width === 0 && own.height === 0) || element.closest('.visually-hidden')) continue;
    const box = frameOf(element).getBoundingClientRect();
    if (box.left < -0.5 || box.right > width + 0.5) {
      const text = (element.textContent ?? '').trim().slice(0, 40);
      problems.push(element.tagName.toLowerCase() + ' "' + text + '" spans ' + box.left + '..' + box.right + ' of ' + width);
    }
  }
  const scroll = document.documentElement.scrollWidth;
  if (scroll > width) {
    // Name what sticks out, whatever it is.
    const wide = [...document.body.querySelectorAll('*')]
      .filter((e) => e.getBoundingClientRect().right > width + 0.5 && frameOf(e) === e)
      .slice(0, 5)
      .map((e) => e.tagName.toLowerCase() + '.' + [...e.classList].join('.') + ' "' + (e.textContent ?? '').trim().slice(0, 30) + '"');
    problems.push('the page is ' + scroll + ' px wide in a ' + width + ' px window: ' + wide.join(', '));
  }
  return problems;
})()`;

async function expectFits(p: Page, screen: string) {
  expect(await p.evaluate(outsideTheWindow), `${screen} at ${p.viewportSize()?.width} px`).toEqual([]);
}

/** A screenshot of the whole page, or of the window only (`window`), as the README shows them. */
const shot = (name: string, area: 'page' | 'window' = 'page') =>
  page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: area === 'page' });

async function signIn(key: string, tab: Page = page) {
  await tab.goto(consoleUrl);
  await tab.getByLabel('API key or JWT').fill(key);
  await tab.getByRole('button', { name: 'Sign in', exact: true }).click();
  await tab.getByTestId('credential').waitFor();
}

/** Runs a search and waits for its own answer (the results carry the count of searches come back). */
async function search(query: string) {
  const outcomes = page.getByTestId('outcomes');
  const before = (await outcomes.count()) > 0 ? Number(await outcomes.getAttribute('data-runs')) : 0;
  await page.getByLabel('Query').fill(query);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  // A search waits its turn on a busy machine (the first of a fresh stack most of all).
  await page.locator(`[data-testid="outcomes"][data-runs="${before + 1}"]`).waitFor({ timeout: 120_000 });
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

  it('uploads a dropped folder and file, each with its progress and live status, and a picked folder again', async () => {
    await stack.call('POST', '/v1/collections', { body: { name: 'dropped' } });
    // A folder with a subfolder, and a file beside it, as a file manager drags them.
    const root = await mkdtemp(join(tmpdir(), 'rag-console-drop-'));
    const folder = join(root, 'field-notes');
    await mkdir(join(folder, 'ja'), { recursive: true });
    await writeFile(join(folder, 'tides.md'), '# Tides\n\nSpring tides follow the full and new moon.\n');
    await writeFile(join(folder, 'ja', 'shio.md'), '# 潮\n\n大潮は満月と新月の頃に起こる。\n');
    await writeFile(join(root, 'loose.txt'), 'A loose note about neap tides.\n');
    // A format the system does not read: accepted, then failed by the worker, and the panel says why.
    await writeFile(join(root, 'archive.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]));
    const paths = ['field-notes/tides.md', 'field-notes/ja/shio.md', 'loose.txt'];

    await page.goto(`${consoleUrl}#/collections/dropped`);
    const zone = page.getByTestId('drop-zone');
    await zone.waitFor();
    // A mark on this document: if the page reloaded on the way, it would be gone.
    await page.evaluate('window.stillTheSamePage = true');
    // The browser's own drop (DevTools Input.dispatchDragEvent with paths on disk), so the page gets real
    // file system entries, the folder's included, as from a file manager.
    // The model panel above the zone appears once the collection and the served models are read: drop only
    // where the zone has come to rest, or the drop lands on whatever moved under it.
    await page.getByTestId('collection-model').waitFor();
    let box = (await zone.boundingBox())!;
    for (;;) {
      await page.waitForTimeout(250);
      const settled = (await zone.boundingBox())!;
      if (settled.x === box.x && settled.y === box.y) break;
      box = settled;
    }
    const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    const devtools = await page.context().newCDPSession(page);
    const data = {
      items: [],
      files: [folder, join(root, 'loose.txt'), join(root, 'archive.gz')],
      dragOperationsMask: 1,
    };
    for (const type of ['dragEnter', 'dragOver', 'drop'] as const) {
      await devtools.send('Input.dispatchDragEvent', { type, ...at, data });
    }
    for (const path of paths) {
      const item = page.locator(`li[data-upload="${path}"]`);
      await item.waitFor();
      await page.locator(`li[data-upload="${path}"][data-phase="ready"]`).waitFor({ timeout: 120_000 });
      // The bar ends full, and the status line says what became of the document.
      const bar = item.getByRole('progressbar');
      expect(Number(await bar.getAttribute('value'))).toBe(Number(await bar.getAttribute('max')));
      await expect(item.locator('.upload-message').textContent()).resolves.toMatch(/^\d+ chunks$/);
    }
    await page.locator('li[data-upload="archive.gz"][data-phase="failed"]').waitFor({ timeout: 120_000 });
    await expect(page.locator('li[data-upload="archive.gz"] .upload-message').textContent()).resolves.toMatch(
      /gzip/,
    );
    expect(await page.evaluate('window.stillTheSamePage')).toBe(true);
    await page.locator('tr[data-document] .status-ready').nth(2).waitFor();
    await page.locator('tr[data-document="archive.gz"] .status-failed').waitFor();
    expect(
      new Set(
        await page
          .locator('tr[data-document]')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-document'))),
      ),
    ).toEqual(new Set([...paths, 'archive.gz']));

    // The same folder picked with the folder chooser: the same paths, the same content, nothing new.
    await page.getByTestId('folder-input').setInputFiles(folder);
    for (const path of paths.slice(0, 2)) {
      await expect
        .poll(() => page.locator(`li[data-upload="${path}"]`).first().textContent(), { timeout: 60_000 })
        .toMatch(/unchanged/);
    }
    await expect(page.getByTestId('collection-summary').textContent()).resolves.toMatch(
      /^4 documents · 3 ready · 0 in progress · 1 failed/,
    );
    expect(await page.evaluate('window.stillTheSamePage')).toBe(true);
    await shot('dropped');
  });

  it('signs in, searches and opens a result with the keyboard alone, and a dialog keeps the focus until Escape', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const keys = await context.newPage();
    try {
      await keys.goto(consoleUrl);
      await tabTo(keys, keys.getByLabel('API key or JWT'));
      await keys.keyboard.type(stack.adminKey);
      await tabTo(keys, keys.getByRole('button', { name: 'Sign in', exact: true }));
      await keys.keyboard.press('Enter');
      await keys.locator('tr[data-collection="handbook"]').waitFor();

      await tabTo(keys, keys.locator('tr[data-collection="handbook"]').getByRole('link', { name: 'Search' }));
      await keys.keyboard.press('Enter');
      await keys.getByRole('heading', { name: 'Search playground' }).waitFor();
      // A new screen takes the focus to its content, so Tab goes on from there.
      // (Read through DevTools: the page's policy forbids the string evaluation waitForFunction polls with.)
      await expect.poll(() => keys.evaluate('document.activeElement?.id')).toBe('main');
      await tabTo(keys, keys.getByLabel('Query'));
      await keys.keyboard.type('multi-agent conversation framework for LLM applications');
      await keys.keyboard.press('Enter');
      const first = keys.getByTestId('results-A').getByTestId('hit').first();
      await first.waitFor({ timeout: 120_000 });
      expect(await first.getAttribute('data-external-id')).toBe(files.pdf);
      await tabTo(keys, first.getByRole('link').first());
      await keys.keyboard.press('Enter');
      await keys.getByTestId('chunk').first().waitFor();
      expect(keys.url()).toMatch(/#\/collections\/handbook\/documents\//);

      // The confirmation dialog: the focus starts on Cancel, Tab and Shift+Tab stay inside, Escape says no
      // and gives the focus back to the button that opened it.
      const remove = keys.getByRole('button', { name: 'Delete document' });
      await tabTo(keys, remove);
      await keys.keyboard.press('Enter');
      const dialog = keys.getByRole('dialog');
      await dialog.waitFor();
      const focusInDialog = () => keys.evaluate("document.activeElement?.closest('dialog')?.open === true");
      await expect(dialog.getByRole('button', { name: 'Cancel' }).evaluate(hasFocus)).resolves.toBe(true);
      for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
        await keys.keyboard.press(key);
        expect(await focusInDialog(), `focus after ${key}`).toBe(true);
      }
      await keys.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await expect(remove.evaluate(hasFocus)).resolves.toBe(true);
      await keys.getByTestId('chunk').first().waitFor();
      expect((await stack.call('GET', '/v1/collections/handbook')).body.documents.total).toBe(3);
    } finally {
      await context.close();
    }
  });

  it('fits every screen at 1280 px and in a 390 px window: no control, link or heading outside it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const view = await context.newPage();
    try {
      await view.goto(consoleUrl);
      await view.getByLabel('API key or JWT').fill(stack.adminKey);
      await view.getByRole('button', { name: 'Sign in', exact: true }).click();
      await view.getByTestId('credential').waitFor();
      const pdfId = (await stack.call('GET', '/v1/collections/handbook/documents')).body.documents.find(
        (d: { external_id: string }) => d.external_id === files.pdf,
      ).id;
      const screens: [string, string, () => Promise<unknown>][] = [
        ['sign-in', '', () => view.getByRole('heading', { name: 'Sign in' }).waitFor()],
        ['collections', '#/collections', () => view.locator('tr[data-collection="handbook"]').waitFor()],
        ['documents', '#/collections/handbook', () => view.locator('tr[data-document]').first().waitFor()],
        [
          'document',
          `#/collections/handbook/documents/${pdfId}`,
          () => view.getByTestId('chunk').first().waitFor(),
        ],
        [
          'search',
          '#/search?collection=handbook',
          async () => {
            await view.getByLabel('Query').fill('天皇は日本国の象徴');
            await view.getByRole('button', { name: 'Search', exact: true }).click();
            await view.getByTestId('hit').first().waitFor({ timeout: 120_000 });
            await view.getByText('Request as JSON, curl, rag search or SDK code').click();
          },
        ],
        ['keys', '#/keys', () => view.getByRole('button', { name: 'Create key' }).waitFor()],
        ['webhook', '#/webhook', () => view.getByRole('button', { name: 'Save webhook' }).waitFor()],
      ];
      for (const width of [1280, 390]) {
        await view.setViewportSize({ width, height: 844 });
        for (const [name, hash, ready] of screens) {
          if (name === 'sign-in') {
            const signedOut = await context.newPage();
            await signedOut.setViewportSize({ width, height: 844 });
            await signedOut.goto(consoleUrl.replace('127.0.0.1', 'localhost'));
            await signedOut.getByRole('heading', { name: 'Sign in' }).waitFor();
            await expectFits(signedOut, name);
            await signedOut.close();
            continue;
          }
          await view.goto(`${consoleUrl}${hash}`);
          await ready();
          await expectFits(view, name);
        }
      }
    } finally {
      await context.close();
    }
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
    await confirmIn(page, 'Remove webhook');
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
    // Someone signed in elsewhere with that key, on the documents of a collection.
    const elsewhere = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const editor = await elsewhere.newPage();
    await signIn(temporaryKey, editor);
    await editor.goto(`${consoleUrl}#/collections/handbook`);
    await editor.getByTestId('collection-summary').waitFor();
    await page
      .locator('tr[data-key-name="temporary"]')
      .getByRole('button', { name: /Revoke/ })
      .click();
    await confirmIn(page, 'Revoke key');
    await page
      .locator('tr[data-key-name="temporary"]')
      .getByText(/^revoked/)
      .waitFor();
    // Revoked in the console, refused by the server from the next request on.
    expect((await stack.call('GET', '/v1/collections', { key: temporaryKey })).status).toBe(401);
    // The other tab's next request is refused: it asks to sign in again, says why, and forgets the key; the
    // address still names the screen it was on.
    await editor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click();
    await editor.getByLabel('API key or JWT').waitFor();
    await expect(editor.getByRole('alert').textContent()).resolves.toMatch(
      /no longer accepts this credential \(expired or revoked\)/,
    );
    expect(await editor.evaluate('Object.values(sessionStorage)')).toEqual([]);
    expect(new URL(editor.url()).hash).toBe('#/search');
    await elsewhere.close();

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

  it('signs in at the OpenID issuer (authorization code with PKCE) and uses its token as the credential', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const user = await context.newPage();
    try {
      await user.goto(`${consoleUrl}#/search`);
      const host = new URL(issuer.issuer).host;
      await user.getByRole('button', { name: `Sign in at ${host}` }).click();
      // The provider's own login and consent pages.
      await user.waitForURL(`${issuer.issuer}/**`);
      await user.locator('input[name="login"]').fill('alice');
      await user.locator('input[name="password"]').fill('any password');
      await user.getByRole('button', { name: 'Sign-in' }).click();
      await user.waitForURL(
        (url) => url.href.startsWith(consoleUrl) || url.pathname.startsWith('/interaction/'),
      );
      if (!user.url().startsWith(consoleUrl)) await user.getByRole('button', { name: 'Continue' }).click();

      // Back at the console, signed in with the issuer's token, on the screen it left from.
      await user.getByTestId('credential').waitFor();
      await expect(user.getByTestId('credential').textContent()).resolves.toMatch(/default · admin/);
      await user.getByRole('heading', { name: 'Search playground' }).waitFor();
      const url = new URL(user.url());
      expect(url.search).toBe('');
      expect(url.hash).toBe('#/search');
      const credentialNow = () =>
        user.evaluate<string | null>("sessionStorage.getItem('rag-console.credential')");
      const token = (await credentialNow())!;
      expect(token.split('.')).toHaveLength(3);
      // Beside it only what renews it: the issuer's refresh token and the token's lifetime.
      const issuerSession = JSON.parse(
        (await user.evaluate<string | null>("sessionStorage.getItem('rag-console.oidc-session')"))!,
      );
      expect(issuerSession).toMatchObject({
        refreshToken: expect.any(String),
        lifetimeMs: accessTokenTtl * 1000,
      });
      expect(await user.evaluate('sessionStorage.length')).toBe(2);
      expect(decodeJwt(token)).toMatchObject({ iss: issuer.issuer, aud: issuer.audience, sub: 'alice' });
      // The gateway takes it as a JWT principal; the console searches with it.
      const credential = await stack.call('GET', '/v1/credential', { key: token });
      expect(credential.status).toBe(200);
      expect(credential.body).toMatchObject({ tenant: 'default', role: 'admin' });
      await user.getByLabel('Query').fill('象徴');
      await user.getByRole('button', { name: 'Search', exact: true }).click();
      await user.getByTestId('hit').first().waitFor();
      await user.screenshot({ path: join(artifacts, 'oidc-signed-in.png') });

      // Before the access token ends the console renews it at the issuer, in place: the same screen, its
      // results still shown, and once the first token is refused by the gateway the console goes on with
      // the new one.
      const runs = await user.getByTestId('outcomes').getAttribute('data-runs');
      await expect.poll(credentialNow, { timeout: accessTokenTtl * 1000, interval: 500 }).not.toBe(token);
      const renewed = (await credentialNow())!;
      expect(decodeJwt(renewed)).toMatchObject({ iss: issuer.issuer, aud: issuer.audience, sub: 'alice' });
      await expect
        .poll(async () => (await stack.call('GET', '/v1/credential', { key: token })).status, {
          timeout: (accessTokenTtl + 40) * 1000,
          interval: 1000,
        })
        .toBe(401);
      expect(await user.getByTestId('outcomes').getAttribute('data-runs')).toBe(runs);
      await user.getByRole('button', { name: 'Search', exact: true }).click();
      await user.locator(`[data-testid="outcomes"]:not([data-runs="${runs}"])`).waitFor();
      await user.getByTestId('hit').first().waitFor();
      await expect(user.getByTestId('credential').textContent()).resolves.toMatch(/default · admin/);

      // Signing out revokes the refresh token at the issuer: a copy of it renews nothing.
      const { refreshToken } = JSON.parse(
        (await user.evaluate<string | null>("sessionStorage.getItem('rag-console.oidc-session')"))!,
      ) as { refreshToken: string };
      const refresh = async () =>
        (
          await fetch(`${issuer.issuer}/token`, {
            method: 'POST',
            body: new URLSearchParams({
              grant_type: 'refresh_token',
              refresh_token: refreshToken,
              client_id: issuer.clientId,
            }),
          })
        ).status;
      const revocation = user.waitForResponse(
        (response) => response.url() === `${issuer.issuer}/token/revocation` && response.ok(),
      );
      await user.getByRole('button', { name: 'Sign out' }).click();
      await revocation;
      expect(await refresh()).toBe(400);

      // An answer this tab did not ask for (a replayed or forged state) is refused, and nothing is kept.
      await user.goto(`${consoleUrl}?code=stolen&state=forged`);
      await expect(user.getByRole('alert').textContent()).resolves.toMatch(/not asked for in this tab/);
      expect(new URL(user.url()).search).toBe('');
      expect(await user.evaluate('Object.values(sessionStorage)')).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it('keeps working on a narrow window', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${consoleUrl}#/search?collection=handbook`);
    await search('象徴');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('search-narrow');
  });
});
