import type { Embedding } from '@rag/contracts/embedding-api';
import { describe, expect, it } from 'vitest';
import { BatchScheduler, type BatchWorker, type SchedulerOptions } from './batch-scheduler.js';
import type { BatchRow } from './model-runner.js';

/**
 * A worker whose batches finish when the test says so, recording what it was given. Each embedding's `tokens` is
 * the first id of its row, so results can be matched to texts.
 */
class ManualWorker implements BatchWorker {
  readonly batches: BatchRow[][] = [];
  private readonly pending: { rows: BatchRow[]; finish: () => void; fail: (error: Error) => void }[] = [];

  run(rows: BatchRow[]): Promise<Embedding[]> {
    this.batches.push(rows);
    return new Promise((resolve, reject) => {
      this.pending.push({
        rows,
        finish: () => resolve(rows.map((row) => ({ tokens: row.ids[0]! }))),
        fail: reject,
      });
    });
  }

  get running(): number {
    return this.pending.length;
  }

  async finishNext(): Promise<void> {
    this.pending.shift()!.finish();
    await flush();
  }

  async failNext(error: Error): Promise<void> {
    this.pending.shift()!.fail(error);
    await flush();
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const options: SchedulerOptions = {
  maxBatchTokens: 1000,
  maxBatchSize: 4,
  maxQueuedTexts: 100,
  batchWaitMs: 0,
};
/** A text of `length` tokens whose first id is `tag`. */
const text = (tag: number, length = 3) => [tag, ...Array.from({ length: length - 1 }, () => 5)];
const firstIds = (rows: BatchRow[]) => rows.map((row) => row.ids[0]);

describe('BatchScheduler', () => {
  it('starts the first text at once and batches what arrives while the worker is busy, by length', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], options);
    const first = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    const rest = [
      scheduler.submit({ texts: [text(2, 30), text(3, 2)], outputs: ['dense'] }),
      scheduler.submit({ texts: [text(4, 29), text(5, 3)], outputs: ['dense'] }),
      scheduler.submit({ texts: [text(6, 4)], outputs: ['dense'] }),
    ];
    expect(worker.batches.map(firstIds)).toEqual([[1]]);

    await worker.finishNext();
    await expect(first).resolves.toMatchObject({ embeddings: [{ tokens: 1 }] });
    // The oldest waiting text (2, 30 tokens) goes next, with the texts nearest its length: the short ones wait
    // for their own batch instead of being padded to 30 tokens.
    expect(worker.batches.map(firstIds).at(-1)).toEqual([4, 2]);
    await worker.finishNext();
    expect(worker.batches.map(firstIds).at(-1)).toEqual([3, 5, 6]);
    await worker.finishNext();
    const results = await Promise.all(rest);
    expect(results.map((result) => result.embeddings.map((e) => e.tokens))).toEqual([[2, 3], [4, 5], [6]]);
  });

  it('keeps batches under the size cap and the padded-token budget', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], { ...options, maxBatchTokens: 40, maxBatchSize: 3 });
    const blocker = scheduler.submit({ texts: [text(0)], outputs: ['dense'] });
    const all = scheduler.submit({
      texts: [text(1, 10), text(2, 10), text(3, 10), text(4, 10), text(5, 20), text(6, 20)],
      outputs: ['sparse'],
    });
    await worker.finishNext();
    while (worker.running > 0) await worker.finishNext();
    await Promise.all([blocker, all]);
    const planned = worker.batches.slice(1);
    for (const batch of planned) {
      expect(batch.length).toBeLessThanOrEqual(3);
      expect(batch.length * Math.max(...batch.map((row) => row.ids.length))).toBeLessThanOrEqual(40);
    }
    expect(planned.flatMap(firstIds).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('serves a search query ahead of queued bulk texts, in a batch of its own', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], options);
    // An ingest: one batch running, eight texts of the same length waiting (two full batches).
    const ingest = scheduler.submit({
      texts: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((tag) => text(tag)),
      outputs: ['dense'],
    });
    const query = scheduler.submit({ texts: [text(50)], outputs: ['dense'], interactive: true });
    const later = scheduler.submit({ texts: [text(60)], outputs: ['dense'], interactive: true });
    expect(worker.batches.map(firstIds)).toEqual([[1, 2, 3, 4]]);
    await worker.finishNext();
    // The two queries go next, both (the oldest first), and nothing of the ingest's with them.
    expect(worker.batches.map(firstIds).at(-1)).toEqual([50, 60]);
    await worker.finishNext();
    await expect(query).resolves.toMatchObject({ embeddings: [{ tokens: 50 }] });
    await expect(later).resolves.toMatchObject({ embeddings: [{ tokens: 60 }] });
    // Then the ingest's texts, in their order.
    await worker.finishNext();
    await worker.finishNext();
    expect(worker.batches.map(firstIds).slice(2)).toEqual([[5, 6, 7, 8], [9]]);
    await expect(ingest).resolves.toMatchObject({ embeddings: expect.arrayContaining([{ tokens: 9 }]) });
  });

  it('starts a search query beside the pool at once when every pool worker runs a bulk batch', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const beside = new ManualWorker();
    const started: boolean[] = [];
    const scheduler = new BatchScheduler(
      pool,
      { ...options, maxBatchSize: 2 },
      { batchStarted: (_size, _tokens, _queue, onSolo) => started.push(onSolo) },
      { beside },
    );
    // An ingest: both pool workers busy, two texts waiting.
    const ingest = scheduler.submit({
      texts: [1, 2, 3, 4, 5, 6].map((tag) => text(tag)),
      outputs: ['dense'],
    });
    expect(pool.map((worker) => worker.running)).toEqual([1, 1]);
    const query = scheduler.submit({ texts: [text(50)], outputs: ['dense'], interactive: true });
    const second = scheduler.submit({ texts: [text(60)], outputs: ['dense'], interactive: true });
    // The first query starts beside the busy pool; the second waits for it (one batch beside the pool at a time).
    expect(beside.batches.map(firstIds)).toEqual([[50]]);
    await beside.finishNext();
    await expect(query).resolves.toMatchObject({ embeddings: [{ tokens: 50 }] });
    expect(beside.batches.map(firstIds)).toEqual([[50], [60]]);
    await beside.finishNext();
    await expect(second).resolves.toMatchObject({ embeddings: [{ tokens: 60 }] });
    // Bulk texts never go beside the pool: they wait for a pool worker.
    expect(beside.running).toBe(0);
    await pool[0]!.finishNext();
    expect(pool[0]!.batches.map(firstIds).at(-1)).toEqual([5, 6]);
    for (const worker of [pool[1]!, pool[0]!]) await worker.finishNext();
    await expect(ingest).resolves.toMatchObject({ embeddings: expect.arrayContaining([{ tokens: 6 }]) });
    expect(started).toEqual([false, false, true, true, false]);
  });

  it('runs no query beside the pool while a pool worker is free, nor a lone text on the solo worker beside it', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const solo = new ManualWorker();
    const beside = new ManualWorker();
    const scheduler = new BatchScheduler(pool, { ...options, soloQuietMs: 0 }, {}, { solo, beside });
    const bulk = scheduler.submit({ texts: [text(1), text(2)], outputs: ['dense'] });
    await pool[0]!.finishNext();
    // One pool worker free: the query goes to it, not beside.
    const query = scheduler.submit({ texts: [text(50)], outputs: ['dense'], interactive: true });
    expect(pool[0]!.batches.map(firstIds).at(-1)).toEqual([50]);
    expect(beside.running).toBe(0);
    await pool[0]!.finishNext();
    const more = scheduler.submit({ texts: [text(3)], outputs: ['dense'] });
    // Both pool workers busy with bulk texts: the next query goes beside them.
    const second = scheduler.submit({ texts: [text(60)], outputs: ['dense'], interactive: true });
    expect(beside.batches.map(firstIds)).toEqual([[60]]);
    await pool[0]!.finishNext();
    await pool[1]!.finishNext();
    // The pool is idle and the service quiet, but the session beside it is still running: a lone text goes to a
    // pool worker instead of the solo worker, which shares that session.
    const lone = scheduler.submit({ texts: [text(70)], outputs: ['dense'] });
    expect(solo.running).toBe(0);
    await beside.finishNext();
    await Promise.all([bulk, query, second, more]);
    expect(pool.flatMap((worker) => worker.batches.flatMap(firstIds))).toContain(70);
    for (const worker of pool) while (worker.running > 0) await worker.finishNext();
    await lone;
  });

  it('runs nothing beside the pool while a pool worker runs search texts: that batch ends soon', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const beside = new ManualWorker();
    const scheduler = new BatchScheduler(pool, { ...options, maxBatchSize: 1 }, {}, { beside });
    const searches = [10, 20].map((tag) =>
      scheduler.submit({ texts: [text(tag)], outputs: ['dense'], interactive: true }),
    );
    expect(pool.map((worker) => worker.running)).toEqual([1, 1]);
    const third = scheduler.submit({ texts: [text(30)], outputs: ['dense'], interactive: true });
    expect(beside.running).toBe(0);
    await pool[0]!.finishNext();
    expect(pool[0]!.batches.map(firstIds).at(-1)).toEqual([30]);
    await pool[0]!.finishNext();
    await pool[1]!.finishNext();
    await Promise.all([...searches, third]);
    expect(beside.batches).toEqual([]);
  });

  it('hands batches to every free worker', async () => {
    const workers = [new ManualWorker(), new ManualWorker()];
    const scheduler = new BatchScheduler(workers, { ...options, maxBatchSize: 1 });
    const calls = [1, 2, 3].map((tag) => scheduler.submit({ texts: [text(tag)], outputs: ['dense'] }));
    expect(workers.map((worker) => worker.running)).toEqual([1, 1]);
    expect(scheduler.queuedTexts).toBe(1);
    await workers[1]!.finishNext();
    expect(workers[1]!.running).toBe(1);
    await workers[0]!.finishNext();
    await workers[1]!.finishNext();
    await expect(Promise.all(calls)).resolves.toHaveLength(3);
  });

  it('refuses texts beyond the queue capacity with rate_limited and a retry delay', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], { ...options, maxQueuedTexts: 3 });
    const running = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    const queued = scheduler.submit({ texts: [text(2), text(3)], outputs: ['dense'] });
    expect(scheduler.queuedTexts).toBe(2);
    await expect(scheduler.submit({ texts: [text(4), text(5)], outputs: ['dense'] })).rejects.toMatchObject({
      code: 'rate_limited',
      context: { retryAfterSeconds: expect.any(Number) },
    });
    await worker.finishNext();
    await worker.finishNext();
    await expect(Promise.all([running, queued])).resolves.toHaveLength(2);
  });

  it('drops the queued texts of a caller that went away, and never runs them', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], { ...options, maxBatchSize: 1 });
    const running = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    const client = new AbortController();
    const abandoned = scheduler.submit({
      texts: [text(2), text(3), text(4)],
      outputs: ['dense'],
      signal: client.signal,
    });
    const other = scheduler.submit({ texts: [text(5)], outputs: ['dense'] });
    client.abort();
    await expect(abandoned).rejects.toMatchObject({ message: expect.stringContaining('client closed') });
    expect(scheduler.queuedTexts).toBe(1);
    await worker.finishNext();
    await worker.finishNext();
    await Promise.all([running, other]);
    expect(worker.batches.map(firstIds)).toEqual([[1], [5]]);
  });

  it('fails a request at its deadline with timeout and takes its texts out of the queue', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], options);
    const running = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    const late = scheduler.submit({ texts: [text(2)], outputs: ['dense'], deadline: performance.now() });
    await expect(late).rejects.toMatchObject({
      code: 'timeout',
      message: expect.stringContaining('deadline'),
    });
    expect(scheduler.queuedTexts).toBe(0);
    await worker.finishNext();
    await running;
    expect(worker.batches).toHaveLength(1);
  });

  it('reruns a failed batch per request so that only the request with the bad text fails', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], options);
    const blocker = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    const bad = scheduler.submit({ texts: [text(2)], outputs: ['dense'] });
    const good = scheduler.submit({ texts: [text(3)], outputs: ['dense'] });
    const outcomes = Promise.allSettled([bad, good]);
    await worker.finishNext();
    expect(worker.batches.at(-1)!.map((row) => row.ids[0])).toEqual([2, 3]);
    await worker.failNext(new Error('Gather index out of range'));
    // Each request now runs alone; the bad one fails again, the good one succeeds.
    await worker.failNext(new Error('Gather index out of range'));
    await worker.finishNext();
    const [badOutcome, goodOutcome] = await outcomes;
    expect(badOutcome).toMatchObject({
      status: 'rejected',
      reason: { code: 'model_error', message: expect.stringContaining('Gather') },
    });
    expect(goodOutcome).toMatchObject({ status: 'fulfilled', value: { embeddings: [{ tokens: 3 }] } });
    await blocker;
  });

  it('waits up to batchWaitMs for a batch to fill when asked to', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], { ...options, batchWaitMs: 50 });
    const calls = [1, 2, 3, 4].map((tag) => scheduler.submit({ texts: [text(tag)], outputs: ['dense'] }));
    // The fourth text filled the batch (maxBatchSize 4), so it started without waiting out the 50 ms.
    expect(worker.batches.map(firstIds)).toEqual([[1, 2, 3, 4]]);
    await worker.finishNext();
    await Promise.all(calls);
  });

  it('fails what is queued when closed, and refuses new requests', async () => {
    const worker = new ManualWorker();
    const scheduler = new BatchScheduler([worker], options);
    const running = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    const queued = scheduler.submit({ texts: [text(2)], outputs: ['dense'] });
    scheduler.close();
    await expect(queued).rejects.toMatchObject({ code: 'shutting_down' });
    await expect(scheduler.submit({ texts: [text(3)], outputs: ['dense'] })).rejects.toMatchObject({
      code: 'shutting_down',
    });
    await worker.finishNext();
    await expect(running).resolves.toMatchObject({ embeddings: [{ tokens: 1 }] });
  });

  it('runs a lone text on the solo worker, and nothing else while it runs', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const solo = new ManualWorker();
    const started: boolean[] = [];
    const scheduler = new BatchScheduler(
      pool,
      options,
      { batchStarted: (_size, _tokens, _queue, onSolo) => started.push(onSolo) },
      { solo },
    );
    const lone = scheduler.submit({ texts: [text(1)], outputs: ['dense'] });
    expect(solo.batches.map(firstIds)).toEqual([[1]]);
    // Texts that arrive meanwhile wait: the solo session has all the cores.
    const later = [2, 3, 4].map((tag) => scheduler.submit({ texts: [text(tag)], outputs: ['dense'] }));
    expect(pool.map((worker) => worker.running)).toEqual([0, 0]);
    await solo.finishNext();
    await expect(lone).resolves.toMatchObject({ embeddings: [{ tokens: 1 }] });
    // Three texts for two workers: the pool's single-threaded sessions share them, the solo worker rests.
    expect(solo.running).toBe(0);
    expect(pool.flatMap((worker) => worker.batches.map(firstIds))).toEqual([[2, 3], [4]]);
    for (const worker of pool) await worker.finishNext();
    await Promise.all(later);
    expect(started).toEqual([true, false, false]);
  });

  it('gives a lone text to the solo worker again only after a quiet spell of one text at a time', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const solo = new ManualWorker();
    const scheduler = new BatchScheduler(pool, { ...options, soloQuietMs: 50 }, {}, { solo });
    const both = scheduler.submit({ texts: [text(1), text(2)], outputs: ['dense'] });
    expect(pool.map((worker) => worker.batches.map(firstIds))).toEqual([[[1]], [[2]]]);
    const third = scheduler.submit({ texts: [text(3)], outputs: ['dense'] });
    // One pool worker is still busy: a text never starts on the solo session beside it.
    await pool[0]!.finishNext();
    expect(solo.running).toBe(0);
    expect(pool[0]!.batches.map(firstIds)).toEqual([[1], [3]]);
    await pool[0]!.finishNext();
    await pool[1]!.finishNext();
    await Promise.all([both, third]);
    // The pool is idle, but several texts were in at once a moment ago: the next lone one stays on the pool, as
    // the first text of another round of requests would.
    const fourth = scheduler.submit({ texts: [text(4)], outputs: ['dense'] });
    expect(solo.running).toBe(0);
    await pool[0]!.finishNext();
    await fourth;
    await new Promise((resolve) => setTimeout(resolve, 60));
    const fifth = scheduler.submit({ texts: [text(5)], outputs: ['dense'] });
    expect(solo.batches.map(firstIds)).toEqual([[5]]);
    await solo.finishNext();
    await fifth;
  });

  it('shares one large request out evenly among the free workers', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const scheduler = new BatchScheduler(pool, { ...options, maxBatchSize: 32 });
    const call = scheduler.submit({
      texts: Array.from({ length: 20 }, (_, i) => text(i)),
      outputs: ['dense'],
    });
    expect(pool.map((worker) => worker.batches[0]?.length)).toEqual([10, 10]);
    for (const worker of pool) await worker.finishNext();
    const { embeddings } = await call;
    expect(embeddings.map((embedding) => embedding.tokens)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('lets a free worker wait for its share while another runs, then serves texts in arrival order', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const scheduler = new BatchScheduler(pool, { ...options, maxBatchSize: 32 });
    const calls = [
      scheduler.submit({ texts: [1, 2, 3, 4, 5, 6].map((tag) => text(tag)), outputs: ['dense'] }),
    ];
    expect(pool.map((worker) => worker.batches.map(firstIds))).toEqual([[[1, 2, 3]], [[4, 5, 6]]]);
    await pool[1]!.finishNext();
    // Worker 1 is free, worker 0 runs three texts: one text alone is less than its share, so it waits for more.
    calls.push(scheduler.submit({ texts: [text(7)], outputs: ['dense'] }));
    expect(pool[1]!.running).toBe(0);
    calls.push(scheduler.submit({ texts: [text(8)], outputs: ['dense'] }));
    // Two queued beside three running: its share, five texts over two workers rounded down, has come.
    expect(pool[1]!.batches.map(firstIds).at(-1)).toEqual([7, 8]);
    calls.push(scheduler.submit({ texts: [text(9)], outputs: ['dense'] }));
    await pool[0]!.finishNext();
    expect(pool[0]!.batches.map(firstIds).at(-1)).toEqual([9]);
    await pool[0]!.finishNext();
    await pool[1]!.finishNext();
    await Promise.all(calls);
  });

  it('does not hold a text back for long when its share never arrives', async () => {
    const pool = [new ManualWorker(), new ManualWorker()];
    const scheduler = new BatchScheduler(pool, { ...options, maxBatchSize: 32 });
    const first = scheduler.submit({ texts: [1, 2, 3, 4, 5, 6].map((tag) => text(tag)), outputs: ['dense'] });
    await pool[1]!.finishNext();
    const waited = performance.now();
    // One text beside three running is less than a share; nothing more comes, and it starts all the same.
    const lone = scheduler.submit({ texts: [text(9)], outputs: ['dense'] });
    while (pool[1]!.running === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(performance.now() - waited).toBeLessThan(1000);
    expect(pool[1]!.batches.map(firstIds).at(-1)).toEqual([9]);
    await pool[1]!.finishNext();
    await pool[0]!.finishNext();
    await Promise.all([first, lone]);
  });
});
