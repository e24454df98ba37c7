import { parseClusterSeeds } from '@rag/config/redis-cluster-seeds';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/**
 * One Redis server or a Redis Cluster, as `REDIS_URL` and `REDIS_CLUSTER` say. Everything of ours that
 * talks to Redis takes either: BullMQ accepts both, and every other command we send touches a single key
 * (a lock, a cache entry, a rate-limit counter), which a cluster routes to the node owning its slot.
 */
export type RedisConnection = Redis | Cluster;

export interface RedisSettings {
  url: string;
  cluster: boolean;
}

/** How a connection behaves when Redis is slow or away; each caller picks what its work can bear. */
export interface ConnectionBehaviour {
  /** `null` retries a command for as long as the connection is being re-established (BullMQ workers need it). */
  maxRetriesPerRequest: number | null;
  /** `false` fails commands at once while disconnected, so request paths answer 503 instead of waiting. */
  enableOfflineQueue?: boolean;
  commandTimeout?: number;
}

export function createRedisConnection(
  settings: RedisSettings,
  behaviour: ConnectionBehaviour,
): RedisConnection {
  const perNode: RedisOptions = { maxRetriesPerRequest: behaviour.maxRetriesPerRequest };
  if (behaviour.commandTimeout !== undefined) perNode.commandTimeout = behaviour.commandTimeout;
  if (!settings.cluster) {
    return new Redis(settings.url, {
      ...perNode,
      ...(behaviour.enableOfflineQueue === undefined
        ? {}
        : { enableOfflineQueue: behaviour.enableOfflineQueue }),
    });
  }
  const seeds = parseClusterSeeds(settings.url);
  if (seeds.problems.length > 0) throw new Error(`REDIS_URL: ${seeds.problems.join('; ')}`);
  if (seeds.username !== undefined) perNode.username = seeds.username;
  if (seeds.password !== undefined) perNode.password = seeds.password;
  if (seeds.tls) perNode.tls = {};
  const options: ClusterOptions = { redisOptions: perNode };
  if (behaviour.enableOfflineQueue !== undefined) options.enableOfflineQueue = behaviour.enableOfflineQueue;
  // Managed clusters with TLS announce their nodes by host names that their certificates carry: connect by
  // that name rather than the resolved address, or the certificate check fails.
  if (seeds.tls) options.dnsLookup = (address, callback) => callback(null, address);
  return new Cluster(seeds.nodes, options);
}
