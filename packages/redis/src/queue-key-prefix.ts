/**
 * The key prefix of every BullMQ queue. BullMQ's scripts touch several keys of a queue at once, which a
 * cluster allows only within one hash slot: there the prefix becomes a hash tag (`rag` -> `{rag}`), so every
 * key of every queue of the deployment lands in the slot of `rag`. One server keeps the plain prefix, so
 * existing deployments and upstream producers see the same keys as before. Other keys (locks, caches,
 * rate limits) keep the plain prefix everywhere and spread over the cluster.
 */
export function queueKeyPrefix(settings: { cluster: boolean; keyPrefix: string }): string {
  return settings.cluster ? `{${settings.keyPrefix}}` : settings.keyPrefix;
}
