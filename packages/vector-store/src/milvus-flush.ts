/** The two SDK calls a flush is made of, as the store's client answers them. */
export interface FlushCalls {
  flush(): Promise<{ coll_segIDs?: unknown }>;
  getFlushState(segmentIDs: number[]): Promise<{ flushed: boolean }>;
}

/**
 * Seals and persists a collection's writes and waits until Milvus says they are flushed. The SDK's flushSync
 * sleeps 100 ms after every look at the flush state, the first one included, so each flush took at least 100 ms
 * even where the server had flushed by the time it answered (Milvus Lite), and a collection's writes queue behind
 * its flush (collection-writer.ts). Here the first look comes at once, later ones after pauses of 5 ms doubling to
 * 100 ms.
 */
export async function flushAndWait(
  calls: FlushCalls,
  pause: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<void> {
  const { coll_segIDs } = await calls.flush();
  const sealed = (coll_segIDs ?? {}) as Record<string, { data: number[] }>;
  const segmentIDs = Object.values(sealed).flatMap((ids) => ids.data);
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if ((await calls.getFlushState(segmentIDs)).flushed) return;
    await pause(wait);
  }
}
