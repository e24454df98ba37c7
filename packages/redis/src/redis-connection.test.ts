import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { queueKeyPrefix } from './queue-key-prefix.js';
import { createRedisConnection, type RedisConnection } from './redis-connection.js';

// Nothing listens on these ports; the connections are inspected and closed, never used.
function inspect(connection: RedisConnection) {
  connection.on('error', () => {});
  connection.disconnect();
  return connection;
}

describe('createRedisConnection', () => {
  it('talks to one server as before unless the settings name a cluster', () => {
    const connection = inspect(
      createRedisConnection(
        { url: 'redis://:secret@127.0.0.1:1/2', cluster: false },
        { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500 },
      ),
    );
    expect(connection).toBeInstanceOf(Redis);
    expect((connection as Redis).options).toMatchObject({
      host: '127.0.0.1',
      port: 1,
      db: 2,
      password: 'secret',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
    });
  });

  it("gives every node of a cluster the first seed's credentials and TLS, and the caller's behaviour", () => {
    const connection = inspect(
      createRedisConnection(
        { url: 'rediss://app:p%40ss@127.0.0.1:1,rediss://127.0.0.1:2', cluster: true },
        { enableOfflineQueue: false, maxRetriesPerRequest: null, commandTimeout: 500 },
      ),
    );
    expect(connection).toBeInstanceOf(Cluster);
    const options = (connection as Cluster).options;
    expect(options.enableOfflineQueue).toBe(false);
    expect(options.redisOptions).toMatchObject({
      username: 'app',
      password: 'p@ss',
      tls: {},
      maxRetriesPerRequest: null,
      commandTimeout: 500,
    });
  });

  it('refuses cluster seeds it cannot use, naming the setting', () => {
    expect(() =>
      createRedisConnection({ url: 'redis://127.0.0.1:1/3', cluster: true }, { maxRetriesPerRequest: 1 }),
    ).toThrow('REDIS_URL: the cluster seed selects a database; a Redis Cluster has only database 0');
  });
});

describe('queueKeyPrefix', () => {
  it('wraps the prefix in a hash tag on a cluster only', () => {
    expect(queueKeyPrefix({ cluster: false, keyPrefix: 'rag_abc' })).toBe('rag_abc');
    expect(queueKeyPrefix({ cluster: true, keyPrefix: 'rag_abc' })).toBe('{rag_abc}');
  });
});
