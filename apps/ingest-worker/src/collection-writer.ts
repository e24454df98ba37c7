import type { VersionSwap } from '@rag/db/document-version';
import type { ChunkVectorRow, ChunkVectorStore, VectorScope } from '@rag/vector-store/chunk-vector-store';
import type { CollectionLock } from './collection-lock.js';

/** One document version's write: its vector rows, and the PostgreSQL swap that makes it visible. */
export interface VersionWrite {
  scope: VectorScope;
  rows: ChunkVectorRow[];
  /** Runs after the rows are durable in the vector store; swaps the version in PostgreSQL. */
  swap: () => Promise<VersionSwap>;
}

export interface CollectionWriter {
  write(store: ChunkVectorStore, collectionId: string, write: VersionWrite): Promise<VersionSwap>;
}

/**
 * Writes to a collection go through here: group commit under the collection's writer lock. Jobs that
 * finish embedding while a write is under way wait and then go together: one Milvus delete of leftovers,
 * one insert, one flush, each document's own PostgreSQL swap, one delete of the replaced vectors (and one
 * flush when there were any). Milvus Lite's flush costs the same for one row as for thousands, so this is
 * what keeps ingestion bound by the model. If a grouped write fails, each document is tried alone, so one
 * bad document fails only itself.
 */
export function createCollectionWriter(options: {
  lock: CollectionLock;
  maxGroupRows?: number;
}): CollectionWriter {
  const maxGroupRows = options.maxGroupRows ?? 4000;
  interface Pending {
    store: ChunkVectorStore;
    write: VersionWrite;
    resolve: (swap: VersionSwap) => void;
    reject: (error: unknown) => void;
  }
  const queues = new Map<string, Pending[]>();

  async function drain(collectionId: string): Promise<void> {
    const queue = queues.get(collectionId)!;
    while (queue.length > 0) {
      const group: Pending[] = [queue.shift()!];
      let rows = group[0]!.write.rows.length;
      while (queue.length > 0 && rows + queue[0]!.write.rows.length <= maxGroupRows) {
        const next = queue.shift()!;
        rows += next.write.rows.length;
        group.push(next);
      }
      try {
        const swaps = await options.lock.withLock(collectionId, (signal) => writeGroup(group, signal));
        for (const [index, pending] of group.entries()) pending.resolve(swaps[index]!);
      } catch (error) {
        if (group.length === 1) {
          group[0]!.reject(error);
          continue;
        }
        for (const pending of group) {
          await options.lock
            .withLock(collectionId, (signal) => writeGroup([pending], signal))
            .then(([swap]) => pending.resolve(swap!), pending.reject);
        }
      }
    }
    queues.delete(collectionId);
  }

  /**
   * The signal aborts when the writer lock is lost: every step checks it first, so a writer that lost the
   * lock stops instead of writing next to the new holder; its job fails retryably and is run again, and
   * deterministic chunk ids make the rerun replace whatever this attempt wrote.
   */
  async function writeGroup(group: Pending[], signal: AbortSignal): Promise<VersionSwap[]> {
    const { store, write } = group[0]!;
    const scope = write.scope;
    const rows = group.flatMap((pending) => pending.write.rows);
    const ids = rows.map((row) => row.chunkId);
    // Leftovers of an interrupted attempt go first; ids are deterministic, so nothing is duplicated.
    signal.throwIfAborted();
    await store.deleteByIds(scope, ids);
    signal.throwIfAborted();
    await store.insert(rows);
    signal.throwIfAborted();
    await store.flush();
    const swaps: VersionSwap[] = [];
    const stale: string[] = [];
    for (const pending of group) {
      signal.throwIfAborted();
      const swap = await pending.write.swap();
      swaps.push(swap);
      // After a swap the old version's vectors no longer join and can go; without one (the document was
      // deleted or superseded meanwhile) our own rows go back out.
      stale.push(...(swap.swapped ? swap.replacedChunkIds : pending.write.rows.map((row) => row.chunkId)));
    }
    if (stale.length > 0) {
      // Crashing before this leaves orphans that search ignores and the doctor removes.
      signal.throwIfAborted();
      await store.deleteByIds(scope, stale);
      signal.throwIfAborted();
      await store.flush();
    }
    return swaps;
  }

  return {
    write(store, collectionId, write) {
      return new Promise((resolve, reject) => {
        const queue = queues.get(collectionId);
        const pending = { store, write, resolve, reject };
        if (queue) {
          queue.push(pending);
          return;
        }
        queues.set(collectionId, [pending]);
        void drain(collectionId);
      });
    },
  };
}
