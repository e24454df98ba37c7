import type { Embedding } from '@rag/contracts/embedding-api';
import { describe, expect, it } from 'vitest';
import { AdaptiveSoloWorker, soloEarlyProbeEvery, soloProbeEvery } from './adaptive-solo.js';
import type { BatchWorker } from './batch-scheduler.js';
import type { BatchRow } from './model-runner.js';

/**
 * A session whose batches take `msPerToken` on a clock the test owns (times `firstRunFactor` for its first batch of
 * a size larger than any before, as a real session's arena warm-up), recording how many batches it ran.
 */
class ClockedSession implements BatchWorker {
  batches = 0;
  private largest = 0;
  constructor(
    private readonly clock: { now: number },
    public msPerToken: number,
    private readonly firstRunFactor = 1,
  ) {}
  async run(rows: BatchRow[]): Promise<Embedding[]> {
    this.batches += 1;
    const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0);
    const factor = tokens > this.largest ? this.firstRunFactor : 1;
    this.largest = Math.max(this.largest, tokens);
    this.clock.now += tokens * this.msPerToken * factor;
    return rows.map((row) => ({ tokens: row.ids.length }));
  }
}

const rows = (length: number): BatchRow[] => [{ ids: Array.from({ length }, () => 7), outputs: ['dense'] }];

/** A solo worker over a spinning and a sleeping ClockedSession that share one clock. */
function soloOver(
  spinning: { msPerToken: number; firstRunFactor?: number },
  sleeping: { msPerToken: number },
) {
  const clock = { now: 0 };
  const sessions = {
    spinning: new ClockedSession(clock, spinning.msPerToken, spinning.firstRunFactor),
    sleeping: new ClockedSession(clock, sleeping.msPerToken),
  };
  return {
    ...sessions,
    solo: new AdaptiveSoloWorker([sessions.spinning, sessions.sleeping], () => clock.now),
  };
}

describe('AdaptiveSoloWorker', () => {
  it('tries both sessions, then runs on the faster per token and probes the other now and then', async () => {
    const { spinning, sleeping, solo } = soloOver({ msPerToken: 0.1 }, { msPerToken: 0.15 });
    await expect(solo.run(rows(128))).resolves.toEqual([{ tokens: 128 }]);
    // Each session's first batch warms it up and is not a sample: each runs twice before the comparison.
    for (let i = 1; i < 4; i++) await solo.run(rows(128));
    expect([spinning.batches, sleeping.batches]).toEqual([2, 2]);
    for (let i = 4; i < 4 * soloProbeEvery; i++) await solo.run(rows(128));
    expect(solo.favoured(128)).toBe(0);
    // The slower session ran its first two batches, two early probes (until it had three samples) and then one
    // probe per soloProbeEvery batches.
    expect(sleeping.batches).toBe(2 + 2 + 4);
    expect(spinning.batches).toBe(4 * soloProbeEvery - 8);
  });

  it('does not count a session’s slow first run at a new size against it', async () => {
    // The spinning session is faster, but its first run at each size takes three times as long.
    const { sleeping, solo } = soloOver({ msPerToken: 0.1, firstRunFactor: 3 }, { msPerToken: 0.12 });
    for (let i = 0; i < 16; i++) await solo.run(rows(512));
    expect(solo.favoured(512)).toBe(0);
    // Its first two batches and one early probe.
    expect(sleeping.batches).toBe(3);
  });

  it('compares the sessions per length class, not a long batch of one against a short batch of the other', async () => {
    const { spinning, sleeping, solo } = soloOver({ msPerToken: 0.1 }, { msPerToken: 0.12 });
    for (let i = 0; i < 8; i++) await solo.run(rows(128));
    expect(solo.favoured(128)).toBe(0);
    // Texts of 512 tokens cost more per token; the spinning session is slower at that length here.
    spinning.msPerToken = 0.3;
    sleeping.msPerToken = 0.2;
    for (let i = 0; i < 8; i++) await solo.run(rows(512));
    expect(solo.favoured(512)).toBe(1);
    expect(solo.favoured(128)).toBe(0);
  });

  it('moves to the other session when the favoured one turns slower, as spinning does on a busy machine', async () => {
    const { spinning, solo } = soloOver({ msPerToken: 0.1 }, { msPerToken: 0.12 });
    for (let i = 0; i < soloProbeEvery; i++) await solo.run(rows(128));
    expect(solo.favoured(128)).toBe(0);
    spinning.msPerToken = 0.2;
    for (let i = 0; i < 4; i++) await solo.run(rows(128));
    expect(solo.favoured(128)).toBe(1);
    const before = spinning.batches;
    for (let i = 0; i < soloProbeEvery; i++) await solo.run(rows(128));
    // Only the probe went back to the spinning session.
    expect(spinning.batches - before).toBe(1);
  });

  it('does not keep the slower session favoured because of one unlucky sample of the faster one', async () => {
    const { spinning, sleeping, solo } = soloOver({ msPerToken: 0.12 }, { msPerToken: 0.1 });
    for (let i = 0; i < 3; i++) await solo.run(rows(128));
    // The sleeping session's first sample meets a busy moment: three times its usual time.
    sleeping.msPerToken = 0.3;
    await solo.run(rows(128));
    sleeping.msPerToken = 0.1;
    expect(solo.favoured(128)).toBe(0);
    for (let i = 4; i < 2 * soloEarlyProbeEvery; i++) await solo.run(rows(128));
    // Two early probes later the median of its three samples is its usual time, and it is favoured.
    expect(solo.favoured(128)).toBe(1);
    const before = spinning.batches;
    for (let i = 0; i < soloProbeEvery; i++) await solo.run(rows(128));
    expect(spinning.batches - before).toBeLessThanOrEqual(2);
  });
});
