import { describe, expect, it } from 'vitest';
import { flushAndWait } from './milvus-flush.js';

/** A server whose flush state turns true after `looks` looks; records what was asked and every pause. */
function server(looks: number) {
  const asked: number[][] = [];
  const pauses: number[] = [];
  let flushes = 0;
  return {
    asked,
    pauses,
    flushes: () => flushes,
    calls: {
      flush: async () => {
        flushes++;
        return { coll_segIDs: { c: { data: [11, 12] }, d: { data: [13] } } };
      },
      getFlushState: async (segmentIDs: number[]) => {
        asked.push(segmentIDs);
        return { flushed: asked.length >= looks };
      },
    },
    pause: async (ms: number) => {
      pauses.push(ms);
    },
  };
}

describe('flushAndWait', () => {
  it('returns without pausing when the server has flushed by its first answer (Milvus Lite)', async () => {
    const lite = server(1);
    await flushAndWait(lite.calls, lite.pause);
    expect(lite.flushes()).toBe(1);
    expect(lite.asked).toEqual([[11, 12, 13]]);
    expect(lite.pauses).toEqual([]);
  });

  it('looks again, pausing 5 ms and doubling up to 100 ms, until the sealed segments are flushed', async () => {
    const slow = server(9);
    await flushAndWait(slow.calls, slow.pause);
    expect(slow.asked).toHaveLength(9);
    expect(slow.pauses).toEqual([5, 10, 20, 40, 80, 100, 100, 100]);
  });

  it('fails when a call fails, without looking further', async () => {
    const broken = server(1);
    broken.calls.getFlushState = async () => {
      throw new Error('Milvus flush failed');
    };
    await expect(flushAndWait(broken.calls, broken.pause)).rejects.toThrow('Milvus flush failed');
    expect(broken.pauses).toEqual([]);
  });
});
