import type { Embedding } from '@rag/contracts/embedding-api';
import type { BatchWorker } from './batch-scheduler.js';
import type { BatchRow } from './model-runner.js';

/**
 * Every this many batches the adaptive solo worker tries the session it does not favour, to notice a change of load.
 * Rarely enough that the probes, which may be slow, stay under 1% of the texts and out of the p99 latency.
 */
export const soloProbeEvery = 128;

/**
 * The solo worker as two sessions with all the cores, one whose threads spin between operators and one whose threads
 * sleep, running each batch on the one that has lately been faster per token. Which is faster depends on the
 * machine, not on the service: alone on its cores, spinning saved about a tenth of a lone text's time; on a machine
 * busy with other work, a spinning thread loses its core in mid-operator and the same text took 1.7 times as long.
 * Every soloProbeEvery-th batch runs on the other session so that a change of load is noticed.
 */
export class AdaptiveSoloWorker implements BatchWorker {
  /** Smoothed ms per token of each session; undefined until it has run. */
  private readonly msPerToken: [number | undefined, number | undefined] = [undefined, undefined];
  private batches = 0;

  constructor(
    private readonly sessions: readonly [spinning: BatchWorker, sleeping: BatchWorker],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Which session the next batch goes to: 0 the spinning one, 1 the sleeping one. */
  get favoured(): 0 | 1 {
    const [spinning, sleeping] = this.msPerToken;
    if (spinning === undefined) return 0;
    if (sleeping === undefined) return 1;
    return spinning <= sleeping ? 0 : 1;
  }

  async run(rows: BatchRow[]): Promise<Embedding[]> {
    this.batches += 1;
    const tried = this.msPerToken[0] !== undefined && this.msPerToken[1] !== undefined;
    const index =
      tried && this.batches % soloProbeEvery === 0 ? ((1 - this.favoured) as 0 | 1) : this.favoured;
    const started = this.now();
    const embeddings = await this.sessions[index].run(rows);
    const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0);
    const sample = (this.now() - started) / Math.max(1, tokens);
    const previous = this.msPerToken[index];
    this.msPerToken[index] = previous === undefined ? sample : 0.7 * previous + 0.3 * sample;
    return embeddings;
  }
}
