import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * Traces leave the services as OTLP/HTTP and arrive at a real receiver: a small OTLP/HTTP server inside
 * this test (POST /v1/traces, JSON bodies), with the four services started as processes and exporting to it.
 * One trace follows an upload from the gateway through the queue into the worker and the embedding service
 * until the document is ready, and a search under the same trace id adds the search service.
 */

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

const services = ['gateway', 'ingest-worker', 'embedding-service', 'search-service'] as const;

const received: ReceivedSpan[] = [];
const requests: Array<{ path: string; contentType: string }> = [];
let receiver: Server;
let stack: Stack;
let modelDir: string;

/** OTLP/JSON writes ids as hex; tolerate base64 (the protobuf-JSON mapping) as well. */
function id(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  if (/^[0-9a-f]+$/i.test(value) && (value.length === 32 || value.length === 16)) return value.toLowerCase();
  return Buffer.from(value, 'base64').toString('hex');
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const encoding = request.headers['content-encoding'];
  if (encoding === 'gzip') return gunzipSync(body);
  if (encoding === 'deflate') return inflateSync(body);
  return body;
}

// biome-ignore lint/suspicious/noExplicitAny: the OTLP/JSON export request, read field by field
function collectSpans(payload: any): void {
  for (const resourceSpans of payload.resourceSpans ?? []) {
    const attributes: Array<{ key: string; value: { stringValue?: string } }> =
      resourceSpans.resource?.attributes ?? [];
    const service = attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        received.push({
          service,
          traceId: id(span.traceId),
          spanId: id(span.spanId),
          parentSpanId: id(span.parentSpanId),
          name: String(span.name),
          kind: Number(span.kind ?? 0),
        });
      }
    }
  }
}

async function startReceiver(): Promise<number> {
  receiver = createServer((request, response) => {
    void (async () => {
      const path = (request.url ?? '').split('?', 1)[0];
      requests.push({ path: path ?? '', contentType: request.headers['content-type'] ?? '' });
      if (request.method !== 'POST' || path !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      try {
        const body = await readBody(request);
        if (!String(request.headers['content-type']).startsWith('application/json')) {
          response.writeHead(415).end();
          return;
        }
        collectSpans(JSON.parse(body.toString('utf8')));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        response.writeHead(400).end();
      }
    })();
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((resolve) => receiver.once('listening', resolve));
  return (receiver.address() as AddressInfo).port;
}

function spansOf(traceId: string): ReceivedSpan[] {
  return received.filter((span) => span.traceId === traceId);
}

/** Polls the spans received so far until the check passes; the batch processors export every 100 ms. */
async function waitForSpans(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      const summary = received.map((s) => `${s.service} ${s.traceId} ${s.name}`).join('\n');
      throw new Error(`timed out waiting for ${what}; received ${received.length} spans:\n${summary}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const port = await startReceiver();
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  stack = await startStack({
    modelDir,
    extraEnv: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
});

afterAll(async () => {
  // Shutting down flushes the last spans, so the receiver stays up until every service has exited.
  const exitCodes = await stack?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  await rm(modelDir, { recursive: true, force: true });
  expect(exitCodes).toEqual(exitCodes?.map(([name]) => [name, 0]));
});

describe('OTLP trace export', () => {
  const traceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  const traceparent = (spanId: string) => `00-${traceId}-${spanId}-01`;

  it('sends OTLP/JSON to /v1/traces of the configured endpoint', async () => {
    await stack.call('POST', '/v1/collections', { body: { name: 'traced' } });
    await waitForSpans('the first export', () => requests.length > 0);
    expect(requests.every((r) => r.path === '/v1/traces')).toBe(true);
    expect(requests[0]?.contentType).toMatch(/^application\/json/);
  });

  it('follows one upload from the gateway through the queue, the worker and the embedding service', async () => {
    const response = await stack.call('POST', '/v1/collections/traced/documents', {
      headers: { traceparent: traceparent(clientSpanId) },
      body: { external_id: 'otlp', text: 'Spans from every service meet in one trace at the collector.' },
    });
    expect(response.status).toBe(202);
    const document = await stack.waitForStatus(response.body.id, undefined, ['ready', 'failed']);
    expect(document.status).toBe('ready');

    // Spans arrive in batches as they end (the worker's consumer span last of its own), so wait for each.
    const find = (service: string, kind: number) =>
      spansOf(traceId).find((s) => s.service === service && s.kind === kind);
    const idsOf = (service: string) =>
      new Set(
        spansOf(traceId)
          .filter((s) => s.service === service)
          .map((s) => s.spanId),
      );
    // The gateway's server span continues the caller's span.
    await waitForSpans('a gateway server span under the caller', () =>
      spansOf(traceId).some(
        (s) => s.service === 'gateway' && s.kind === 2 && s.parentSpanId === clientSpanId,
      ),
    );
    // The worker's consumer span continues a gateway span (the context carried in the job).
    await waitForSpans('the worker consumer span under a gateway span', () =>
      idsOf('gateway').has(find('ingest-worker', 5)?.parentSpanId ?? ''),
    );
    expect(find('ingest-worker', 5)?.name).toMatch(/^ingest /);
    // The embedding service's server span for /v1/embed sits under a worker span (its fetch client span).
    await waitForSpans('an embedding-service server span under a worker span', () =>
      spansOf(traceId).some(
        (s) =>
          s.service === 'embedding-service' && s.kind === 2 && idsOf('ingest-worker').has(s.parentSpanId),
      ),
    );
    // One connected trace: every span's parent is the caller or another span of the trace.
    await waitForSpans('every parent span of the upload trace', () => {
      const ids = new Set(spansOf(traceId).map((s) => s.spanId));
      return spansOf(traceId).every((s) => s.parentSpanId === clientSpanId || ids.has(s.parentSpanId));
    });
  });

  it('adds the search service to the trace for a search under the same trace id', async () => {
    const { status, body } = await stack.call('POST', '/v1/search', {
      headers: { traceparent: traceparent(randomBytes(8).toString('hex')) },
      body: { collection: 'traced', query: 'spans meet in one trace' },
    });
    expect(status).toBe(200);
    expect(body.results.length).toBeGreaterThan(0);
    await waitForSpans('a search-service span in the trace', () =>
      spansOf(traceId).some((span) => span.service === 'search-service' && span.kind === 2),
    );
    const seen = new Set(spansOf(traceId).map((span) => span.service));
    expect([...seen].sort()).toEqual([...services].sort());
  });
});
