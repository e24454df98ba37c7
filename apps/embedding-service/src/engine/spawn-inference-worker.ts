import { Worker } from 'node:worker_threads';
import type { InferenceWorkerConfig } from './worker-protocol.js';

/**
 * Starts the inference worker next to this module. Built, both files are .js in dist/engine and Node runs the worker
 * directly. From source (vitest), this module is .ts and so is the worker, which a plain Node worker thread cannot
 * load; the worker then first registers source-loader-hooks.mjs (TypeScript's transpileModule), then imports the
 * .ts entry. This needs no extra dependency (typescript is already a dev dependency) and no build before tests.
 */
export function spawnInferenceWorker(config: InferenceWorkerConfig): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource)
    return new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: config });

  const hooks = new URL('./source-loader-hooks.mjs', import.meta.url).href;
  const entry = new URL('./inference-worker.ts', import.meta.url).href;
  const bootstrap = `import('node:module')
    .then(({ register }) => register(${JSON.stringify(hooks)}))
    .then(() => import(${JSON.stringify(entry)}));`;
  return new Worker(bootstrap, { eval: true, workerData: config });
}
