import type { ServiceMetrics } from '@rag/telemetry/metrics-registry';
import { Counter, Gauge, Histogram } from 'prom-client';

export interface QueueCounts {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** Ingestion metrics; queue depth is read from Redis at scrape time, and the HPA scales on it. */
export function createWorkerMetrics(metrics: ServiceMetrics, queue: QueueCounts) {
  const registers = [metrics.registry];
  const jobsTotal = new Counter({
    name: 'ingest_jobs_total',
    help: 'Ingest queue jobs finished, by job type and outcome.',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const jobDuration = new Histogram({
    name: 'ingest_job_duration_seconds',
    help: 'Time to run one ingest queue job, by job type.',
    labelNames: ['type'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  new Gauge({
    name: 'ingest_queue_depth',
    help: 'Jobs in the ingest queue, by state.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
  const vectorsRepairedTotal = new Counter({
    name: 'ingest_vectors_repaired_total',
    help: 'Vectors the worker rebuilt from PostgreSQL (or removed) by itself after the vector store was unreachable.',
    registers,
  });
  return { jobsTotal, jobDuration, vectorsRepairedTotal };
}
