#!/usr/bin/env node
// Smoke test of a deployed rag-system, through the gateway's public API only, so it runs against any base
// URL: a local stack, a port-forward to one color of a blue-green release, or a public host.
//
//   SMOKE_API_KEY=rag_... node scripts/deploy/smoke.mjs --base-url https://rag.staging.example.com
//
// Checks, in order: liveness, and that readiness and metrics are not served publicly; that the API refuses a
// call without a credential; an authenticated search in the smoke collection; and an ingest round trip (a
// document with a unique phrase goes in, becomes ready, is found by search, is deleted and is gone). The key
// comes from the environment, never an argument (arguments show in process lists); it needs the editor role
// on the smoke collection (docs/runbook.md shows how to create one). Prints one line per check and exits 1 on
// the first failure, naming it; the smoke document is deleted whatever happens.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const usage = `usage: SMOKE_API_KEY=... node scripts/deploy/smoke.mjs --base-url URL [options]
  --base-url URL      the gateway (or SMOKE_BASE_URL)
  --collection NAME   an existing collection the key can write to (default: SMOKE_COLLECTION or "smoke")
  --timeout SECONDS   how long to wait for the document to be indexed (default 120)
  --no-ingest         search only: skip the ingest round trip`;

export class SmokeFailure extends Error {}
/** A failure that waiting longer cannot cure (a document that failed to index). */
class SmokeFatal extends SmokeFailure {}

function parseOptions(argv, env) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-url': { type: 'string' },
      collection: { type: 'string' },
      timeout: { type: 'string' },
      'no-ingest': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;
  const baseUrl = values['base-url'] ?? env.SMOKE_BASE_URL;
  if (!baseUrl) throw new SmokeFailure('no base URL: pass --base-url or set SMOKE_BASE_URL');
  let parsed;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new SmokeFailure(`base URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (!/^https?:$/.test(parsed.protocol)) throw new SmokeFailure(`base URL ${baseUrl} is not http(s)`);
  const apiKey = env.SMOKE_API_KEY;
  if (!apiKey) throw new SmokeFailure('SMOKE_API_KEY is not set (an editor key for the smoke collection)');
  const timeoutSeconds = Number(values.timeout ?? 120);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new SmokeFailure(`--timeout must be a positive number of seconds, got ${values.timeout}`);
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    apiKey,
    collection: values.collection ?? env.SMOKE_COLLECTION ?? 'smoke',
    timeoutMs: timeoutSeconds * 1000,
    ingest: !values['no-ingest'],
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the smoke checks; resolves with the names of the checks that passed, throws SmokeFailure. */
export async function runSmoke(options, log = console.log) {
  const { baseUrl, apiKey, collection, timeoutMs, ingest } = options;
  const passed = [];

  async function call(method, path, { body, key = apiKey } = {}) {
    const headers = { accept: 'application/json' };
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new SmokeFailure(
        `${method} ${path}: no answer from ${baseUrl} (${error.cause?.code ?? error.message})`,
      );
    }
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page, say): keep the text for the message.
    }
    return { status: response.status, json, text };
  }

  function expectStatus(what, response, ...wanted) {
    if (!wanted.includes(response.status)) {
      const detail = response.json?.detail ?? response.json?.title ?? response.text.slice(0, 200);
      throw new SmokeFailure(
        `${what}: expected HTTP ${wanted.join(' or ')}, got ${response.status}: ${detail}`,
      );
    }
  }

  function pass(name) {
    passed.push(name);
    log(`smoke ${name}: ok`);
  }

  /** Calls `attempt` until it returns a value (not undefined) or the deadline passes. */
  async function poll(what, attempt) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        const value = await attempt();
        if (value !== undefined) return value;
      } catch (error) {
        if (!(error instanceof SmokeFailure) || error instanceof SmokeFatal) throw error;
        last = error;
      }
      if (Date.now() > deadline) {
        throw new SmokeFailure(
          `${what} within ${timeoutMs / 1000} s${last ? ` (last: ${last.message})` : ''}`,
        );
      }
      await sleep(500);
    }
  }

  expectStatus('GET /health', await call('GET', '/health', { key: null }), 200);
  pass('health');
  // Readiness (which names failing dependencies) and metrics live on the management port only.
  expectStatus('GET /health/ready', await call('GET', '/health/ready', { key: null }), 404);
  expectStatus('GET /metrics', await call('GET', '/metrics', { key: null }), 404);
  pass('probes private');

  expectStatus(
    'POST /v1/search without a credential',
    await call('POST', '/v1/search', { key: null, body: { collection, query: 'smoke' } }),
    401,
  );
  pass('credential required');

  const search = async (query, topK) => {
    const response = await call('POST', '/v1/search', { body: { collection, query, top_k: topK } });
    expectStatus(`search in collection ${collection}`, response, 200);
    if (!Array.isArray(response.json?.results)) {
      throw new SmokeFailure(`search in collection ${collection}: the answer has no results list`);
    }
    return response.json.results;
  };
  await search('smoke test', 1);
  pass(`search ${collection}`);

  if (!ingest) return passed;

  // A phrase no other document has, so the search below can only be satisfied by this document.
  const marker = `smoke${randomBytes(6).toString('hex')}`;
  const created = await call('POST', `/v1/collections/${encodeURIComponent(collection)}/documents`, {
    body: {
      external_id: `smoke-test/${marker}`,
      title: 'Smoke test',
      text: `Deployment smoke test document ${marker}. It is deleted again at once.`,
      metadata: { smoke_test: true },
    },
  });
  expectStatus(`ingest into collection ${collection}`, created, 202);
  const id = created.json?.id;
  if (typeof id !== 'string') throw new SmokeFailure('ingest answer has no document id');
  try {
    await poll(`document ${id} was not indexed`, async () => {
      const document = await call('GET', `/v1/documents/${id}`);
      expectStatus(`GET /v1/documents/${id}`, document, 200);
      if (document.json.status === 'failed') {
        throw new SmokeFatal(`document ${id} failed to index: ${document.json.error ?? 'no reason given'}`);
      }
      return document.json.status === 'ready' ? true : undefined;
    });
    pass('ingest ready');
    await poll(`search did not find document ${id}`, async () => {
      const results = await search(marker, 10);
      return results.some((r) => r.document_id === id) ? true : undefined;
    });
    pass('ingest found by search');
  } finally {
    // Cleanup runs even when a check above failed; its own failure only adds to the report.
    const removed = await call('DELETE', `/v1/documents/${id}`).catch((error) => ({
      status: 0,
      text: error.message,
    }));
    if (removed.status !== 202 && removed.status !== 404) {
      log(`smoke cleanup: could not delete document ${id} (HTTP ${removed.status}); delete it by hand`);
    }
  }
  await poll(`document ${id} was not deleted`, async () => {
    const gone = await call('GET', `/v1/documents/${id}`);
    expectStatus(`GET /v1/documents/${id} after delete`, gone, 200, 404);
    return gone.status === 404 ? true : undefined;
  });
  pass('ingest deleted');
  return passed;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  try {
    const options = parseOptions(process.argv.slice(2), process.env);
    if (!options) {
      console.log(usage);
    } else {
      console.log(`smoke: ${options.baseUrl}, collection ${options.collection}`);
      const passed = await runSmoke(options);
      console.log(`smoke: all ${passed.length} checks passed`);
    }
  } catch (error) {
    if (error instanceof SmokeFailure || error?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      console.error(`smoke: FAIL ${error.message}`);
      if (error.code) console.error(usage);
    } else {
      console.error(`smoke: FAIL ${error.stack ?? error}`);
    }
    process.exitCode = 1;
  }
}
