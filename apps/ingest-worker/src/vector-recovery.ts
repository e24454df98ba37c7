import { type Collection, listAllCollections } from '@rag/db/collection-repository';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { Logger } from '@rag/telemetry/logger';
import type { ChunkVectorStore } from '@rag/vector-store/chunk-vector-store';
import { checkCollection, type DoctorDeps } from './doctor.js';

export interface VectorRecoveryDeps extends Omit<DoctorDeps, 'store'> {
  store: () => Promise<ChunkVectorStore>;
  /**
   * The store and client of a collection's own model, where collections are on several models (default: the
   * store above for every collection).
   */
  kitFor?: (collection: Collection) => Promise<{ store: ChunkVectorStore; embeddings: EmbeddingClient }>;
  logger: Logger;
  /** Counts vectors written again (missing or duplicated) and orphans removed. */
  repairedTotal: { inc(value: number): void };
  /** How often the vector store is probed. */
  intervalMs: number;
  /**
   * A probe not answered in this time counts as unreachable: the Milvus client waits for a server that is
   * gone until its own long timeout, so a short outage would otherwise look like one slow answer.
   */
  probeTimeoutMs: number;
}

/**
 * Repairs the vector store by itself after it was unreachable: a Milvus that was killed may come back
 * without writes it had acknowledged, even of documents long `ready`. At the first successful probe (worker
 * start) and at the first one after a failed probe, every collection goes through the doctor's comparison
 * with PostgreSQL and its repair, under the collection's writer lock, so no human has to run the doctor.
 */
export function createVectorRecovery(deps: VectorRecoveryDeps) {
  let reachable = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function repairAll(store: ChunkVectorStore): Promise<void> {
    // A restarted Milvus Lite forgets which collections were loaded (and a fresh one has none): load or
    // create it first, or the comparison cannot read the vectors.
    await store.ensureReady();
    // Each other model's space is made ready once per repair, as this one was.
    const ready = new Set<ChunkVectorStore>([store]);
    for (const collection of await listAllCollections(deps.pool)) {
      let kit: { store: ChunkVectorStore; embeddings: EmbeddingClient } = {
        store,
        embeddings: deps.embeddings,
      };
      if (deps.kitFor) {
        try {
          kit = await deps.kitFor(collection);
          if (!ready.has(kit.store)) {
            await kit.store.ensureReady();
            ready.add(kit.store);
          }
        } catch (error) {
          // A collection on a model that is not served now cannot be repaired; the others can.
          deps.logger.warn(
            { err: error, tenant_id: collection.tenantId, collection: collection.name },
            "vector store not compared for a collection: its model's service or space is unavailable",
          );
          continue;
        }
      }
      const check = await checkCollection({ ...deps, ...kit }, collection, { repair: true });
      if (!check.repaired) continue;
      const repaired = check.missing.length + check.duplicates.length + check.orphans.length;
      deps.repairedTotal.inc(repaired);
      deps.logger.warn(
        {
          tenant_id: check.tenantId,
          collection: check.collection,
          missing: check.missing.length,
          duplicates: check.duplicates.length,
          orphans: check.orphans.length,
        },
        'vector store repaired from PostgreSQL after it was unreachable',
      );
    }
  }

  async function probe(): Promise<void> {
    let store: ChunkVectorStore;
    try {
      store = await withTimeout(deps.store(), deps.probeTimeoutMs);
      await withTimeout(store.checkHealth(), deps.probeTimeoutMs);
    } catch {
      reachable = false;
      return;
    }
    if (reachable) return;
    try {
      await repairAll(store);
      reachable = true;
    } catch (error) {
      // Tried again at the next probe: the store (or PostgreSQL, or the lock) failed on the way.
      deps.logger.warn({ err: error }, 'vector store repair failed; trying again');
    }
  }

  /** One probe at a time: a slow repair is never run twice at once. */
  function check(): Promise<void> {
    running = running.then(probe);
    return running;
  }

  return {
    check,
    /**
     * For readiness: throws until the store has been compared with PostgreSQL (and repaired) since the worker
     * started or since it was last unreachable, so a stack is not called recovered while documents that are
     * `ready` still lack their vectors.
     */
    assertRepaired(): void {
      if (!reachable)
        throw new Error('vector store not yet compared with PostgreSQL since it was unreachable');
    },
    start(): void {
      void check();
      timer = setInterval(() => void check(), deps.intervalMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  // The abandoned call may still fail later; nobody waits for it.
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
