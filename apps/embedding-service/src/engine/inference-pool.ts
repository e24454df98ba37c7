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
  /**
   * The solo worker's session whose threads sleep, for search queries while every pool worker is busy (see
   * BatchScheduler); undefined without one (soloThreads 0, or soloSpinning 'on': a spinning session beside the pool
   * would take the cores its workers need).
   */
  beside: BatchWorker | undefined;
  /** Stops every worker. */
  stop(): Promise<void>;
}

export interface InferencePoolModel {
  modelPath: string;
  manifest: ModelManifest;
  padId: number;
  specialIds: readonly number[];
}

/** Which session ran a batch: a pool worker's, or the solo worker's spinning or sleeping one. */
export type SessionKind = 'pool' | 'solo_spinning' | 'solo_sleeping';

/**
 * Starts the pool's workers and the solo worker, one after the other: loading parses the graph and pre-packs its
 * weights, and the peak of several sessions loading at once would outlast the load. If one fails, the ones started
 * are stopped and the error is thrown.
 */
export async function startInferencePool(
  model: InferencePoolModel,
  settings: EmbedderSettings,
  /** Each batch's time inside its worker thread, by session. */
  onRan?: (session: SessionKind, seconds: number) => void,
): Promise<InferencePool> {
  const host = (threads: number, spinning: boolean, session: SessionKind) =>
    new InferenceWorkerHost(
      {
        modelPath: model.modelPath,
        manifest: model.manifest,
        threads,
        spinning,
        provider: settings.provider,
        padId: model.padId,
        specialIds: [...model.specialIds],
      },
      onRan && ((seconds) => onRan(session, seconds)),
    );
  const workers = Array.from({ length: settings.poolSize }, () => host(settings.threads, false, 'pool'));
  // The pool's sessions never spin: they run side by side, and a spinning thread would take the core another needs.
  // The solo session runs alone, so its threads may spin between operators (they stop when its run returns).
  const soloHosts =
    settings.soloThreads === 0
      ? []
      : settings.soloSpinning === 'auto'
        ? [
            host(settings.soloThreads, true, 'solo_spinning'),
            host(settings.soloThreads, false, 'solo_sleeping'),
          ]
        : [
            host(
              settings.soloThreads,
              settings.soloSpinning === 'on',
              settings.soloSpinning === 'on' ? 'solo_spinning' : 'solo_sleeping',
            ),
          ];
  const solo = soloHosts.length === 2 ? new AdaptiveSoloWorker([soloHosts[0]!, soloHosts[1]!]) : soloHosts[0];
  // The sleeping session is the last one in both layouts above.
  const beside = settings.soloSpinning === 'on' ? undefined : soloHosts.at(-1);
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
  return { workers, solo, beside, stop };
}
