import type { ChunkVectorStore, VectorSpace } from './chunk-vector-store.js';

/**
 * The vector space depends on the model the embedding service serves, which may start after us. The
 * store is built on first use and built again on the next call if that failed, so a service comes up
 * without its dependencies and turns ready once they are.
 */
export function lazyVectorStore(
  loadSpace: () => Promise<VectorSpace>,
  create: (space: VectorSpace) => ChunkVectorStore,
): { get: () => Promise<ChunkVectorStore>; close: () => Promise<void> } {
  let pending: Promise<ChunkVectorStore> | undefined;
  return {
    get() {
      pending ??= (async () => {
        const store = create(await loadSpace());
        try {
          await store.ensureReady();
        } catch (error) {
          await store.close().catch(() => {});
          throw error;
        }
        return store;
      })().catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
      return pending;
    },
    async close() {
      const store = await pending?.catch(() => undefined);
      await store?.close();
    },
  };
}
