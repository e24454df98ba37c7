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
 *
 * Two things would make the comparison wrong, and are kept out of it:
 * - A session's first batch of a size larger than any it ran before grows its memory arena and plans its buffers;
 *   that run took twice as long as the next ones (a 512-token text: 393 ms against 180). Its time is not a sample:
 *   counted, it made the spinning session look slow for the next 128 batches.
 * - A token costs more in a long text than in a short one (attention grows with the square of the length), so the
 *   sessions are compared per length class (padded tokens rounded up to a power of two), never a long batch of one
 *   against a short batch of the other.
 */
export class AdaptiveSoloWorker implements BatchWorker {
  /** Smoothed ms per token of each session, per length class; undefined until it has a sample there. */
  private readonly msPerToken = new Map<number, [number | undefined, number | undefined]>();
  /** The largest padded batch each session has run: a larger one warms its memory up and is no sample. */
  private readonly largestRun: [number, number] = [0, 0];
  private batches = 0;

  constructor(
    private readonly sessions: readonly [spinning: BatchWorker, sleeping: BatchWorker],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Which session a batch of `paddedTokens` goes to next, probes aside: 0 the spinning one, 1 the sleeping one. */
  favoured(paddedTokens: number): 0 | 1 {
    const [spinning, sleeping] = this.estimates(paddedTokens);
    if (spinning === undefined) return 0;
    if (sleeping === undefined) return 1;
    return spinning <= sleeping ? 0 : 1;
  }

  async run(rows: BatchRow[]): Promise<Embedding[]> {
    this.batches += 1;
    const paddedTokens = rows.length * Math.max(...rows.map((row) => row.ids.length));
    const estimates = this.estimates(paddedTokens);
    const tried = estimates[0] !== undefined && estimates[1] !== undefined;
    const favoured = this.favoured(paddedTokens);
    const index = tried && this.batches % soloProbeEvery === 0 ? ((1 - favoured) as 0 | 1) : favoured;
    const warming = paddedTokens > this.largestRun[index];
    this.largestRun[index] = Math.max(this.largestRun[index], paddedTokens);
    const started = this.now();
    const embeddings = await this.sessions[index].run(rows);
    if (!warming) {
      const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0);
      const sample = (this.now() - started) / Math.max(1, tokens);
      const previous = estimates[index];
      estimates[index] = previous === undefined ? sample : 0.7 * previous + 0.3 * sample;
    }
    return embeddings;
  }

  private estimates(paddedTokens: number): [number | undefined, number | undefined] {
    const lengthClass = Math.ceil(Math.log2(Math.max(1, paddedTokens)));
    let estimates = this.msPerToken.get(lengthClass);
    if (estimates === undefined) {
      estimates = [undefined, undefined];
      this.msPerToken.set(lengthClass, estimates);
    }
    return estimates;
  }
}
