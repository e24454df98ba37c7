import type { Embedding } from '@rag/contracts/embedding-api';
import type { BatchWorker } from './batch-scheduler.js';
import type { BatchRow } from './model-runner.js';

/**
 * Every this many batches the adaptive solo worker tries the session it does not favour, to notice a change of load.
 * Rarely enough that the probes, which may be slow, stay under 1% of the texts and out of the p99 latency.
 */
export const soloProbeEvery = 128;

/** Samples kept per session and length class; the estimate is their median. */
export const soloSamplesKept = 5;

/**
 * While the session not favoured has fewer than this many samples in a length class, it is tried every
 * soloEarlyProbeEvery-th batch instead: a single slow sample must not keep it out for the next 128 batches.
 */
const soloSamplesWanted = 3;
export const soloEarlyProbeEvery = 16;

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
 * - One sample is noise on a shared machine. Each session's estimate is the median of its last soloSamplesKept
 *   samples, and the session not favoured is tried more often until it has a few: with a smoothed mean, one unlucky
 *   probe of the sleeping session kept a spinning session that was 20% slower favoured for 94 of 222 lone texts.
 */
export class AdaptiveSoloWorker implements BatchWorker {
  /** The last soloSamplesKept ms-per-token samples of each session, per length class. */
  private readonly samples = new Map<number, [number[], number[]]>();
  /** The largest padded batch each session has run: a larger one warms its memory up and is no sample. */
  private readonly largestRun: [number, number] = [0, 0];
  private batches = 0;

  constructor(
    private readonly sessions: readonly [spinning: BatchWorker, sleeping: BatchWorker],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Which session a batch of `paddedTokens` goes to next, probes aside: 0 the spinning one, 1 the sleeping one. */
  favoured(paddedTokens: number): 0 | 1 {
    const [spinning, sleeping] = this.samplesOf(paddedTokens).map(median);
    if (spinning === undefined) return 0;
    if (sleeping === undefined) return 1;
    return spinning <= sleeping ? 0 : 1;
  }

  async run(rows: BatchRow[]): Promise<Embedding[]> {
    this.batches += 1;
    const paddedTokens = rows.length * Math.max(...rows.map((row) => row.ids.length));
    const samples = this.samplesOf(paddedTokens);
    const favoured = this.favoured(paddedTokens);
    const other = (1 - favoured) as 0 | 1;
    const tried = samples[0].length > 0 && samples[1].length > 0;
    const probeEvery = samples[other].length < soloSamplesWanted ? soloEarlyProbeEvery : soloProbeEvery;
    const index = tried && this.batches % probeEvery === 0 ? other : favoured;
    const warming = paddedTokens > this.largestRun[index];
    this.largestRun[index] = Math.max(this.largestRun[index], paddedTokens);
    const started = this.now();
    const embeddings = await this.sessions[index].run(rows);
    if (!warming) {
      const tokens = rows.reduce((sum, row) => sum + row.ids.length, 0);
      samples[index].push((this.now() - started) / Math.max(1, tokens));
      if (samples[index].length > soloSamplesKept) samples[index].shift();
    }
    return embeddings;
  }

  private samplesOf(paddedTokens: number): [number[], number[]] {
    const lengthClass = Math.ceil(Math.log2(Math.max(1, paddedTokens)));
    let samples = this.samples.get(lengthClass);
    if (samples === undefined) {
      samples = [[], []];
      this.samples.set(lengthClass, samples);
    }
    return samples;
  }
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}
