import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot, type MilvusLite, startMilvusLite } from '@rag/testing/milvus-lite';
import { type ServiceProcess, type StartServiceOptions, startService } from '@rag/testing/service-process';
import { testPostgresUrl, uniqueTestPrefix } from '@rag/testing/test-database';
import pg from 'pg';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are free-form JSON, checked field by field
export type Json = Record<string, any>;

export interface StackOptions {
  modelDir: string;
  modelManifest?: string;
  gatewayEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Added to the environment of all four services (e.g. OTEL_* settings). */
  extraEnv?: Record<string, string>;
}

export interface CallOptions {
  /** An API key; the bootstrap admin key when left out, no Authorization header when null. */
  key?: string | null;
  body?: unknown;
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * The whole system for one test file: a private Milvus Lite, PostgreSQL schema, Redis key prefix and Milvus
 * collection prefix, and the four services started from their builds as processes.
 */
export async function startStack(options: StackOptions) {
  const repoRoot = findRepoRoot();
  const adminKey = `admin-${randomBytes(24).toString('hex')}`;
  const serviceToken = randomBytes(32).toString('hex');
  const schema = `e2e_${randomBytes(4).toString('hex')}`;
  const milvusPrefix = `${uniqueTestPrefix('e2e')}_`;
  const milvus: MilvusLite = await startMilvusLite();
  // Uploaded files, shared by the gateway (writes) and the worker (reads), as a volume would be.
  const storageRoot = await mkdtemp(join(tmpdir(), 'rag-e2e-storage-'));
  const redisPrefix = uniqueTestPrefix('e2e');
  const [embeddingPort, searchPort, workerPort, gatewayPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const common = {
    LOG_LEVEL: 'info',
    DATABASE_URL: testPostgresUrl,
    DATABASE_SCHEMA: schema,
    REDIS_KEY_PREFIX: redisPrefix,
    STORAGE_ROOT: storageRoot,
    MILVUS_ADDRESS: milvus.address,
    MILVUS_COLLECTION_PREFIX: milvusPrefix,
    EMBEDDING_SERVICE_URL: `http://127.0.0.1:${embeddingPort}`,
    SEARCH_SERVICE_URL: `http://127.0.0.1:${searchPort}`,
    SERVICE_TOKEN: serviceToken,
    ...options.extraEnv,
  };
  const services: ServiceProcess[] = [];
  const launchOptions = new Map<string, StartServiceOptions>();
  const launch = (start: StartServiceOptions) => {
    launchOptions.set(start.app, start);
    return startService(start);
  };

  /**
   * Stops a service (SIGTERM, or SIGKILL for a crash) if it still runs and starts it again with the same
   * settings.
   */
  async function restart(app: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<ServiceProcess> {
    const index = services.findIndex((s) => s.name === app);
    const start = launchOptions.get(app);
    if (index < 0 || !start) throw new Error(`no service ${app} in this stack`);
    const running = services[index]!;
    if (signal === 'SIGKILL' && running.process.exitCode === null && running.process.signalCode === null) {
      const exited = new Promise((resolve) => running.process.once('exit', resolve));
      running.process.kill('SIGKILL');
      await exited;
    } else {
      await running.stop();
    }
    const replacement = await startService(start);
    services[index] = replacement;
    return replacement;
  }
  const db = new pg.Pool({ connectionString: testPostgresUrl, options: `-c search_path=${schema}`, max: 2 });

  async function stop(): Promise<Array<[string, number | null]>> {
    const exitCodes: Array<[string, number | null]> = [];
    for (const service of [...services].reverse()) exitCodes.push([service.name, await service.stop()]);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
    await milvus.stop();
    await rm(storageRoot, { recursive: true, force: true });
    return exitCodes;
  }

  try {
    services.push(
      await launch({
        app: 'embedding-service',
        repoRoot,
        port: embeddingPort!,
        env: {
          ...common,
          MODEL_DIR: options.modelDir,
          ...(options.modelManifest ? { MODEL_MANIFEST: options.modelManifest } : {}),
        },
      }),
    );
    services.push(
      ...(await Promise.all([
        launch({ app: 'search-service', repoRoot, port: searchPort!, env: common }),
        launch({
          app: 'ingest-worker',
          repoRoot,
          port: workerPort!,
          env: { ...common, ...options.workerEnv },
        }),
      ])),
    );
    services.push(
      await launch({
        app: 'gateway',
        repoRoot,
        port: gatewayPort!,
        env: { ...common, ADMIN_API_KEY: adminKey, ...options.gatewayEnv },
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const gateway = services.at(-1)!;

  async function call(method: string, path: string, request: CallOptions = {}) {
    const headers: Record<string, string> = { ...request.headers };
    const key = request.key === undefined ? adminKey : request.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const body = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
    if (body !== undefined) headers['content-type'] = request.contentType ?? 'application/json';
    const response = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: (text ? JSON.parse(text) : {}) as Json,
    };
  }

  /** Polls a document until it reaches one of the statuses ('gone' for a 404). */
  async function waitForStatus(id: string, key: string | undefined, wanted: string[]): Promise<Json> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { status, body } = await call('GET', `/v1/documents/${id}`, key === undefined ? {} : { key });
      if (status === 404 && wanted.includes('gone')) return { status: 'gone' };
      if (status === 200 && wanted.includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`document ${id} stuck at ${status} ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  /** The environment a service was started with (for running its command line tools the same way). */
  const serviceEnv = (app: string): Record<string, string> => ({ ...launchOptions.get(app)?.env });

  return {
    serviceEnv,
    adminKey,
    serviceToken,
    restart,
    milvus,
    milvusPrefix,
    redisPrefix,
    storageRoot,
    services,
    db,
    call,
    waitForStatus,
    stop,
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
