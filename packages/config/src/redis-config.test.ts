import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { redisSchema } from './common-schemas.js';
import { redisFromEnv, sharedEnvNames } from './env-groups.js';
import { ConfigError, parseConfig } from './parse-config.js';
import { parseClusterSeeds } from './redis-cluster-seeds.js';

const schema = z.object({ redis: redisSchema });
const load = (env: Record<string, string>) =>
  parseConfig(schema, { redis: redisFromEnv(env) }, sharedEnvNames).redis;

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('Redis settings', () => {
  it('talk to one server unless REDIS_CLUSTER says otherwise', () => {
    expect(load({})).toEqual({
      url: 'redis://127.0.0.1:6379',
      cluster: false,
      keyPrefix: 'rag',
      commandTimeoutMs: 2_000,
    });
    expect(
      load({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://10.0.0.1:7000,redis://10.0.0.2:7000' }),
    ).toMatchObject({
      cluster: true,
    });
  });

  it('name the variable of each problem, and never echo a seed that may hold a password', () => {
    expect(problemsOf({ REDIS_CLUSTER: 'yes' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER \(redis\.cluster\): /),
    ]);
    const problems = problemsOf({
      REDIS_CLUSTER: 'true',
      REDIS_URL: 'redis://:s3cret@10.0.0.1:7000,http://10.0.0.2:7000,redis://:s3cret@10.0.0.3:7000/2',
    });
    expect(problems).toEqual([
      'REDIS_URL (redis.url): cluster seed 2 must start with redis:// or rediss://',
      'REDIS_URL (redis.url): cluster seed 3 selects a database; a Redis Cluster has only database 0',
    ]);
    expect(problems.join()).not.toContain('s3cret');
  });

  it('refuse a key prefix with a hash tag of its own: the cluster setting adds the one BullMQ needs', () => {
    expect(problemsOf({ REDIS_KEY_PREFIX: '{rag}' })).toEqual([
      'REDIS_KEY_PREFIX (redis.keyPrefix): only letters, digits, _, : and - (a cluster adds the hash tag itself)',
    ]);
  });
});

describe('cluster seeds', () => {
  it('take every node from the list and the credentials and TLS of the first for all of them', () => {
    expect(
      parseClusterSeeds('rediss://app:p%40ss@redis-0.redis:6380, redis://redis-1.redis, redis://[::1]:7001'),
    ).toEqual({
      nodes: [
        { host: 'redis-0.redis', port: 6380 },
        { host: 'redis-1.redis', port: 6379 },
        { host: '::1', port: 7001 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: true,
      problems: [],
    });
  });

  it('say which seed is wrong and why', () => {
    expect(parseClusterSeeds('10.0.0.1:7000').problems).toEqual([
      'the cluster seed is not a URL (redis://host:port or rediss://host:port)',
    ]);
    expect(parseClusterSeeds('redis://a:7000,redis://:7001').problems).toEqual([
      'cluster seed 2 is not a URL (redis://host:port or rediss://host:port)',
    ]);
  });
});
