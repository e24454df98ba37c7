// The whole system for the fault matrix: private Redis, PostgreSQL and Milvus Lite, the object-storage
// folder, and the four services from their builds, each behind its own stable proxy address. The harness
// plays the orchestrator: it restarts a service that was killed, and rolls one (new process first, then
// SIGTERM to the old one, as a Deployment with maxUnavailable 0 does).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startMilvus, startPostgres, startRedis, tempDir } from './private-dependencies.mjs';
import { startServiceProxy } from './service-proxy.mjs';
import { runService } from './service-runner.mjs';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const { freePort } = await import(`${repoRoot}/packages/testing/dist/free-port.js`);
const { writeTinyModel } = await import(`${repoRoot}/packages/models/dist/tiny-model.js`);

export const serviceNames = ['embedding-service', 'search-service', 'ingest-worker', 'gateway'];

/**
 * @param {object} options
 * @param {Record<string, string>} options.workerEnv  settings for the worker (lock periods)
 * @param {(line: string) => void} options.log
 */
export async function startFaultStack(options) {
  const cleanups = [];
  const log = options.log;
  const work = await tempDir('rag-faults-');
  cleanups.push(work.remove);
  // The PostgreSQL cluster inside belongs to another user when this runs as root.
  await chmod(work.dir, 0o755);
  const [redisPort, postgresPort, milvusPort] = [await freePort(), await freePort(), await freePort()];
  const dependencies = {};
  const proxies = {};
  const services = {};
  const stop = async () => {
    for (const name of [...serviceNames].reverse()) await services[name]?.stop(15_000).catch(() => {});
    for (const proxy of Object.values(proxies)) await proxy.close();
    for (const dependency of Object.values(dependencies)) await dependency.shutdown().catch(() => {});
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const modelDir = join(work.dir, 'model');
    await writeTinyModel(modelDir);
    log(`redis on ${redisPort}, postgres on ${postgresPort}, milvus on ${milvusPort}, data in ${work.dir}`);
    const pgDir = join(work.dir, 'pg');
    await mkdir(pgDir);
    const redisDir = join(work.dir, 'redis');
    await mkdir(redisDir);
    // One after the other, so that a failed start leaves the ones already running for stop() to end.
    dependencies.redis = await startRedis(redisPort, redisDir);
    dependencies.postgres = await startPostgres(postgresPort, pgDir);
    dependencies.milvus = await startMilvus(repoRoot, milvusPort, join(work.dir, 'milvus'));
    const storageRoot = join(work.dir, 'storage');
    await mkdir(storageRoot);

    for (const name of serviceNames) proxies[name] = await startServiceProxy(await freePort());
    const adminKey = `admin_${randomBytes(24).toString('base64url')}`;
    const serviceToken = randomBytes(32).toString('hex');
    const common = {
      LOG_LEVEL: 'warn',
      DATABASE_URL: dependencies.postgres.url,
      REDIS_URL: dependencies.redis.url,
      MILVUS_ADDRESS: dependencies.milvus.address,
      EMBEDDING_SERVICE_URL: proxies['embedding-service'].url,
      SEARCH_SERVICE_URL: proxies['search-service'].url,
      SERVICE_TOKEN: serviceToken,
      STORAGE_ROOT: storageRoot,
    };
    const envs = {
      'embedding-service': { ...common, MODEL_DIR: modelDir },
      'search-service': common,
      'ingest-worker': { ...common, ...options.workerEnv },
      gateway: {
        ...common,
        ADMIN_API_KEY: adminKey,
        // The matrix's own clients are one address and one key; the limits are not what is tested here.
        RATE_LIMIT_PER_ADDRESS: '1000000',
        RATE_LIMIT_PER_CREDENTIAL: '1000000',
      },
    };
    // What the worker is given, for `pnpm doctor --env-from`.
    const envFile = join(work.dir, 'worker.env');
    await writeFile(
      envFile,
      Object.entries(envs['ingest-worker'])
        .map(([name, value]) => `${name}=${value}\n`)
        .join(''),
    );

    /** Starts a new process of the service on a fresh port and routes the service's address to it. */
    const launch = async (name) => {
      const [port, managementPort] = [await freePort(), await freePort()];
      const service = await runService({ app: name, repoRoot, port, managementPort, env: envs[name] });
      services[name] = service;
      proxies[name].route(port);
      return service;
    };
    for (const name of serviceNames) {
      log(`starting ${name}`);
      await launch(name);
    }

    /** Waits for the process to exit; SIGKILL after the grace period, as an orchestrator does. */
    const exited = (service, graceMs) => {
      const child = service.process;
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    };

    return {
      dependencies,
      storageRoot,
      envFile,
      adminKey,
      serviceToken,
      gatewayUrl: proxies.gateway.url,
      /** Client connections the gateway's address closed while no gateway process was there, since the last call. */
      gatewayRefused: () => proxies.gateway.takeRefused(),
      embeddingUrl: proxies['embedding-service'].url,
      milvusAddress: dependencies.milvus.address,
      databaseUrl: dependencies.postgres.url,
      services,
      /**
       * The process gets the signal and leaves the service's endpoints at once (a pod being deleted, or one
       * that crashed); resolves once it has exited.
       */
      async bringDown(name, signal) {
        const service = services[name];
        proxies[name].route(null);
        service.process.kill(signal);
        await exited(service, 30_000);
      },
      /** A new process after the orchestrator's restart delay. */
      async bringUp(name, restartDelayMs = 1000) {
        await delay(restartDelayMs);
        return launch(name);
      },
      /** Rolling update of one service: the new process takes the traffic, then the old one drains. */
      async roll(name) {
        const old = services[name];
        await launch(name);
        old.process.kill('SIGTERM');
        await exited(old, 30_000);
      },
      /** Names of services whose /health/ready does not answer 200 now. */
      async notReady() {
        const failing = [];
        for (const name of serviceNames) if (!(await services[name].ready())) failing.push(name);
        return failing;
      },
      /** Restarts a service that no longer works by itself (what a liveness probe would do). */
      async replace(name) {
        await this.bringDown(name, 'SIGTERM');
        return launch(name);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
