import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ingestQueueName } from '@rag/ingest-contract/ingest-job';
import { reindexQueueName } from '@rag/ingest-contract/reindex-job';
import { Queue } from 'bullmq';
import { startTestGateway, type TestGateway } from '../test-gateway.js';

/**
 * What the per-route tests share: the credentials every write path is tried with, a stand-in for an
 * internal service (its side of the contract in @rag/contracts), and what the gateway queued.
 */

/** An issued API key: its id and the key itself. */
export interface IssuedKey {
  id: string;
  key: string;
}

export async function issueKey(
  gateway: TestGateway,
  tenant: string,
  grant: Record<string, unknown>,
): Promise<IssuedKey> {
  const created = await gateway.call('POST', '/v1/api-keys', { body: { tenant, ...grant } });
  if (created.status !== 201) {
    throw new Error(`issuing a key answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  return { id: String(created.body.id), key: String(created.body.key) };
}

/** A tenant's keys of each role, and the valid but limited keys a write path must refuse. */
export interface RouteKeys {
  admin: string;
  editor: string;
  /** A reader of the tenant: may read, never write. */
  reader: string;
  /** An admin of another tenant. */
  otherTenant: string;
  /** An admin of the same tenant, scoped to another collection. */
  otherCollection: string;
}

export async function routeKeys(
  gateway: TestGateway,
  options: { tenant: string; otherTenant: string },
): Promise<RouteKeys> {
  const { tenant, otherTenant } = options;
  return {
    admin: (await issueKey(gateway, tenant, { role: 'admin' })).key,
    editor: (await issueKey(gateway, tenant, { role: 'editor' })).key,
    reader: (await issueKey(gateway, tenant, { role: 'reader' })).key,
    otherTenant: (await issueKey(gateway, otherTenant, { role: 'admin' })).key,
    otherCollection: (await issueKey(gateway, tenant, { role: 'admin', collections: ['elsewhere'] })).key,
  };
}

/**
 * The limited callers of a write path on an object of `keys`' tenant, with what each must read: the reader
 * is refused (403); another tenant and another collection scope find nothing (404) unless the route says
 * otherwise.
 */
export function limitedCallers(
  keys: RouteKeys,
  statuses: { reader?: number; otherTenant?: number; otherCollection?: number } = {},
): Array<{ who: string; key: string; status: number }> {
  return [
    { who: 'reader', key: keys.reader, status: statuses.reader ?? 403 },
    { who: 'other tenant', key: keys.otherTenant, status: statuses.otherTenant ?? 404 },
    { who: 'other collection', key: keys.otherCollection, status: statuses.otherCollection ?? 404 },
  ];
}

/** A request an internal service received from the gateway. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface ServiceAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ServiceStandIn {
  url: string;
  received: ReceivedRequest[];
  /** What the next requests are answered with, by `METHOD /path`. */
  answers: Map<string, (request: ReceivedRequest) => ServiceAnswer>;
  close(): Promise<void>;
}

/**
 * An internal service's side of its HTTP contract on a free local port: it records each request and answers
 * what the test set for its route (404 otherwise), so a route test reads what the gateway sent and how it
 * passes on the answer or the failure.
 */
export async function startServiceStandIn(): Promise<ServiceStandIn> {
  const received: ReceivedRequest[] = [];
  const answers = new Map<string, (request: ReceivedRequest) => ServiceAnswer>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      received.push(request);
      const answer = answers.get(`${request.method} ${request.path}`)?.(request) ?? {
        status: 404,
        body: { type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found', detail: 'no route' },
      };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The jobs waiting in one of the gateway's queues (ingest or reindex), oldest first. */
export async function queuedJobs(
  gateway: TestGateway,
  queue: 'ingest' | 'reindex',
): Promise<Array<Record<string, unknown>>> {
  const reader = new Queue(queue === 'ingest' ? ingestQueueName : reindexQueueName, {
    connection: gateway.redis,
    prefix: gateway.queuePrefix,
  });
  try {
    const jobs = await reader.getJobs(['waiting', 'delayed', 'prioritized', 'paused'], 0, -1, true);
    return jobs.map((job) => job.data as Record<string, unknown>);
  } finally {
    await reader.close();
  }
}

/** The suite hooks of the test runner, passed in so that this module needs none. */
export interface SuiteHooks {
  beforeAll(fn: () => Promise<void>): void;
  afterAll(fn: () => Promise<void>): void;
}

/** What a route test file runs against; filled in before the file's first test. */
export interface RouteTestGateway<S extends string = never> {
  gateway: TestGateway;
  /** Keys of tenant acme and the limited ones (globex is the other tenant). */
  keys: RouteKeys;
  /** The stand-ins for internal services, by the names the file gave them. */
  services: Record<S, ServiceStandIn>;
  /** Asks for collection `name` (POST /v1/collections) as acme's admin unless another key is given. */
  createCollection(name: string, key?: string): ReturnType<TestGateway['call']>;
}

/**
 * The gateway of a route test file, with tenants acme and globex, `routeKeys` for acme, the stand-ins named in
 * `services` (started first, answering `answers`, so `gateway` can point the gateway at them) and the
 * `collections` created by acme's admin: all of it started before the file's first test, closed after its last.
 */
export function useRouteTestGateway<S extends string = never>(
  hooks: SuiteHooks,
  options: {
    services?: readonly S[];
    /** What a stand-in answers from the start, by service and `METHOD /path`. */
    answers?: Partial<Record<S, Record<string, ServiceAnswer>>>;
    /** More gateway options, given the started stand-ins. */
    gateway?: (services: Record<S, ServiceStandIn>) => Parameters<typeof startTestGateway>[0];
    collections?: readonly string[];
  } = {},
): RouteTestGateway<S> {
  const services = {} as Record<S, ServiceStandIn>;
  const route = {
    services,
    createCollection: (name, key = route.keys.admin) =>
      route.gateway.call('POST', '/v1/collections', { key, body: { name } }),
  } as RouteTestGateway<S>;
  hooks.beforeAll(async () => {
    for (const name of options.services ?? []) {
      services[name] = await startServiceStandIn();
      for (const [path, answer] of Object.entries(options.answers?.[name] ?? {})) {
        services[name].answers.set(path, () => answer);
      }
    }
    route.gateway = await startTestGateway({ ...options.gateway?.(services), tenants: ['acme', 'globex'] });
    route.keys = await routeKeys(route.gateway, { tenant: 'acme', otherTenant: 'globex' });
    for (const name of options.collections ?? []) {
      const created = await route.createCollection(name);
      if (created.status !== 201) {
        throw new Error(
          `creating collection ${name} answered ${created.status}: ${JSON.stringify(created.body)}`,
        );
      }
    }
  });
  hooks.afterAll(async () => {
    await route.gateway?.close();
    for (const service of Object.values<ServiceStandIn | undefined>(services)) await service?.close();
  });
  return route;
}
