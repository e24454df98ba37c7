import type { ModelManifest } from '@rag/models/model-manifest';
import { AdaptiveSoloWorker } from './adaptive-solo.js';
import type { BatchWorker } from './batch-scheduler.js';
import type { EmbedderSettings } from './embedder-settings.js';
import { InferenceWorkerHost } from './inference-worker-host.js';

export interface InferencePool {
  /** The pool's workers, each a session with `settings.threads` intra-op threads. */
  workers: InferenceWorkerHost[];
  /**
   * The session with all the cores for a lone batch (with soloSpinning 'auto', two of them: see AdaptiveSoloWorker);
   * undefined when soloThreads is 0.
   */
  solo: BatchWorker | undefined;
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
  // The pool's sessions never spin: they run side by side, and a spinning thread would take the core another needs.
  // The solo session runs alone, so its threads may spin between operators (they stop when its run returns).
  const soloHosts =
    settings.soloThreads === 0
      ? []
      : settings.soloSpinning === 'auto'
        ? [host(settings.soloThreads, true), host(settings.soloThreads, false)]
        : [host(settings.soloThreads, settings.soloSpinning === 'on')];
  const solo = soloHosts.length === 2 ? new AdaptiveSoloWorker([soloHosts[0]!, soloHosts[1]!]) : soloHosts[0];
  const all = [...workers, ...soloHosts];
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
