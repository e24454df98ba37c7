import type { AddressInfo } from 'node:net';
import { closeServer, listen } from '@rag/http/http-server';
import { createLogger } from '@rag/telemetry/logger';
import { createServiceMetrics } from '@rag/telemetry/metrics-registry';
import { createEmbeddingApp, defaultRequestLimits, type EmbeddingAppDeps } from './app.js';
import { createEmbedder, type Embedder, type EmbedderOptions } from './engine/embedder.js';

export const testServiceToken = 'test-service-token-0123456789abcdef';

export interface TestService {
  url: string;
  /** The management listener: /health/ready and /metrics. */
  managementUrl: string;
  embedder: Embedder;
  /** POSTs JSON with the service token; the raw Response, so tests can check statuses and headers. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
  close(): Promise<void>;
}

/** The real service (HTTP app + embedder with ONNX Runtime) on a free local port, for integration tests. */
export async function startTestService(
  embedderOptions: EmbedderOptions,
  appOptions: Partial<EmbeddingAppDeps> = {},
): Promise<TestService> {
  const embedder = await createEmbedder(embedderOptions);
  const { app, management } = createEmbeddingApp({
    logger: createLogger({ service: 'embedding-service', level: 'silent' }),
    metrics: createServiceMetrics('embedding-service'),
    embedder,
    serviceToken: testServiceToken,
    limits: defaultRequestLimits,
    ...appOptions,
  });
  const server = await listen(app, '127.0.0.1', 0);
  const managementServer = await listen(management, '127.0.0.1', 0);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const managementUrl = `http://127.0.0.1:${(managementServer.address() as AddressInfo).port}`;
  const headers = { 'x-service-token': testServiceToken };
  return {
    url,
    managementUrl,
    embedder,
    post: (path, body, extra = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', ...extra },
        body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
    get: (path) => fetch(`${url}${path}`, { headers }),
    async close() {
      await closeServer(server, 1000);
      await closeServer(managementServer, 1000);
      await embedder.close();
    },
  };
}

/** Value of a Prometheus sample line, e.g. metric('te_request_failure{err="timeout"}'). */
export async function metric(service: TestService, sample: string): Promise<number> {
  const text = await (await fetch(`${service.managementUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
