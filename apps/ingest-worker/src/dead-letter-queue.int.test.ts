import { deadLetterQueueName } from '@rag/ingest-contract/ingest-job';
import { uniqueTestPrefix } from '@rag/testing/test-database';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterQueue, type DeadLetterQueue } from './dead-letter-queue.js';

/** The dead-letter queue is never consumed: it must stay bounded by itself, and hold no document text. */
const prefix = uniqueTestPrefix('deadletter');
let redis: Redis;
let letters: DeadLetterQueue;
let queue: Queue;

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  letters = createDeadLetterQueue({ connection: redis, prefix, retention: { count: 3 } });
  queue = new Queue(deadLetterQueueName, { connection: redis, prefix });
});

afterAll(async () => {
  await queue?.obliterate({ force: true });
  await queue?.close();
  await letters?.close();
  redis?.disconnect();
});

describe('dead-letter queue', () => {
  it('keeps the newest letters up to its count, without the text of inline documents', async () => {
    for (let n = 1; n <= 5; n++) {
      await letters.add({
        jobId: `job-${n}`,
        jobName: 'ingest',
        reason: 'refused',
        attemptsMade: 1,
        data: { v: 2, type: 'ingest', content: { kind: 'inline', text: `confidential text ${n}` } },
      });
    }
    const kept = await queue.getJobs(['wait'], 0, -1, true);
    expect(kept.map((job) => job.id)).toEqual(['dead-job-3', 'dead-job-4', 'dead-job-5']);
    expect(JSON.stringify(kept.map((job) => job.data))).not.toContain('confidential');
  });
});
