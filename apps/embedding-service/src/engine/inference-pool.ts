import type { ModelManifest } from '@rag/models/model-manifest';
import type { EmbedderSettings } from './embedder-settings.js';
import { InferenceWorkerHost } from './inference-worker-host.js';

export interface InferencePool {
  /** The pool's workers, each a session with `settings.threads` intra-op threads. */
  workers: InferenceWorkerHost[];
  /** The session with all the cores for a lone batch; undefined when soloThreads is 0. */
  solo: InferenceWorkerHost | undefined;
  /** Stops every worker. */
  stop(): Promise<void>;
}

export interface InferencePoolModel {
  modelPath: string;
  manifest: ModelManifest;
  padId: number;
  specialIds: readonly number[];
}

/**
 * Starts the pool's workers and the solo worker, one after the other: loading parses the graph and pre-packs its
 * weights, and the peak of several sessions loading at once would outlast the load. If one fails, the ones started
 * are stopped and the error is thrown.
 */
export async function startInferencePool(
  model: InferencePoolModel,
  settings: EmbedderSettings,
): Promise<InferencePool> {
  const host = (threads: number, spinning: boolean) =>
    new InferenceWorkerHost({
      modelPath: model.modelPath,
      manifest: model.manifest,
      threads,
      spinning,
      provider: settings.provider,
      padId: model.padId,
      specialIds: [...model.specialIds],
    });
  const workers = Array.from({ length: settings.poolSize }, () => host(settings.threads, false));
  // No spinning even for the solo session, which runs alone: on a machine shared with other work (or a container
  // held to its CPU limit) spinning threads get descheduled mid-operator, and a text took 35 to 160 ms instead of 31.
  const solo = settings.soloThreads > 0 ? host(settings.soloThreads, false) : undefined;
  const all = solo === undefined ? workers : [...workers, solo];
  const stop = async () => {
    await Promise.allSettled(all.map((worker) => worker.stop()));
  };
  for (const worker of all) {
    try {
      await worker.start();
    } catch (error) {
      await stop();
      throw error;
    }
  }
  return { workers, solo, stop };
}
