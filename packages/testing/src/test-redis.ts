import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type PrivateRedisCluster, startRedisCluster } from './redis-cluster.js';
import { uniqueTestPrefix } from './test-database.js';

const run = promisify(execFile);

/**
 * The Redis a test runs against, as the services are pointed at it (REDIS_URL, REDIS_CLUSTER, a key prefix):
 * the machine's shared server under a key prefix of the test's own, or a private Redis Cluster of three
 * masters. A test written once runs on both: `describe.each(redisTopologies)` and `startTestRedis(topology)`.
 */
export type RedisTopology = 'server' | 'cluster';

export const redisTopologies: RedisTopology[] = ['server', 'cluster'];

export interface TestRedis {
  topology: RedisTopology;
  /** What a service reads from its Redis configuration; give it to createRedisConnection. */
  settings: { url: string; cluster: boolean; keyPrefix: string };
  /** The cluster's nodes, for tests that look at where keys landed; undefined on the shared server. */
  cluster: PrivateRedisCluster | undefined;
  /** Every key matching `pattern` (default: under the key prefix), on every node. */
  keys(pattern?: string): Promise<string[]>;
  /** Deletes the test's keys from the shared server, or stops the private cluster. */
  stop(): Promise<void>;
}

/** The machine's shared Redis (COMMON: 127.0.0.1:6379). */
const sharedRedis = { host: '127.0.0.1', port: 6379 };

// Deletes the keys matching a pattern, one at a time (a shared server may hold more than Lua's unpack takes).
const deleteMatching =
  "local n = 0 for _, key in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', key) n = n + 1 end return n";

export async function startTestRedis(topology: RedisTopology, label: string): Promise<TestRedis> {
  const keyPrefix = uniqueTestPrefix(label);
  const cli = async (port: number, ...args: string[]) =>
    (await run('redis-cli', ['-h', sharedRedis.host, '-p', String(port), ...args], { timeout: 30_000 }))
      .stdout;
  const lines = (text: string) => text.split('\n').filter((line) => line !== '');

  if (topology === 'server') {
    return {
      topology,
      settings: { url: `redis://${sharedRedis.host}:${sharedRedis.port}`, cluster: false, keyPrefix },
      cluster: undefined,
      keys: async (pattern = `${keyPrefix}*`) =>
        lines(await cli(sharedRedis.port, '--scan', '--pattern', pattern)),
      async stop() {
        await cli(sharedRedis.port, 'eval', deleteMatching, '0', `${keyPrefix}*`);
      },
    };
  }
  // A cluster's queue keys carry the prefix inside a hash tag ({prefix}), so patterns match both forms.
  const cluster = await startRedisCluster();
  return {
    topology,
    settings: { url: cluster.url, cluster: true, keyPrefix },
    cluster,
    async keys(pattern = `*${keyPrefix}*`) {
      const perNode = await Promise.all(cluster.ports.map((port) => cluster.cli(port, 'keys', pattern)));
      return perNode.flatMap(lines);
    },
    stop: () => cluster.stop(),
  };
}
