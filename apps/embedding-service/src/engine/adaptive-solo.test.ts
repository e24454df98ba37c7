import type { Embedding } from '@rag/contracts/embedding-api';
import { describe, expect, it } from 'vitest';
import { AdaptiveSoloWorker, soloProbeEvery } from './adaptive-solo.js';
import type { BatchWorker } from './batch-scheduler.js';
import type { BatchRow } from './model-runner.js';

/** A session whose batches take `msPerToken` on a clock the test owns, recording how many batches it ran. */
class ClockedSession implements BatchWorker {
  batches = 0;
  constructor(
    private readonly clock: { now: number },
    public msPerToken: number,
  ) {}
  async run(rows: BatchRow[]): Promise<Embedding[]> {
    this.batches += 1;
    const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0);
    this.clock.now += tokens * this.msPerToken;
    return rows.map((row) => ({ tokens: row.ids.length }));
  }
}

const rows = (length: number): BatchRow[] => [{ ids: Array.from({ length }, () => 7), outputs: ['dense'] }];

describe('AdaptiveSoloWorker', () => {
  it('tries both sessions, then runs on the faster per token and probes the other now and then', async () => {
    const clock = { now: 0 };
    const spinning = new ClockedSession(clock, 0.1);
    const sleeping = new ClockedSession(clock, 0.15);
    const solo = new AdaptiveSoloWorker([spinning, sleeping], () => clock.now);
    await expect(solo.run(rows(128))).resolves.toEqual([{ tokens: 128 }]);
    await solo.run(rows(64));
    expect([spinning.batches, sleeping.batches]).toEqual([1, 1]);
    for (let i = 2; i < 4 * soloProbeEvery; i++) await solo.run(rows(128));
    expect(solo.favoured).toBe(0);
    // The slower session only ran its first batch and one probe per soloProbeEvery batches.
    expect(sleeping.batches).toBe(1 + 4);
    expect(spinning.batches).toBe(4 * soloProbeEvery - 5);
  });

  it('moves to the other session when the favoured one turns slower, as spinning does on a busy machine', async () => {
    const clock = { now: 0 };
    const spinning = new ClockedSession(clock, 0.1);
    const sleeping = new ClockedSession(clock, 0.12);
    const solo = new AdaptiveSoloWorker([spinning, sleeping], () => clock.now);
    for (let i = 0; i < soloProbeEvery; i++) await solo.run(rows(128));
    expect(solo.favoured).toBe(0);
    spinning.msPerToken = 0.2;
    for (let i = 0; i < 4; i++) await solo.run(rows(128));
    expect(solo.favoured).toBe(1);
    const before = spinning.batches;
    for (let i = 0; i < soloProbeEvery; i++) await solo.run(rows(128));
    // Only the probe went back to the spinning session.
    expect(spinning.batches - before).toBe(1);
  });
});
