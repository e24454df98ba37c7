import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on the module `name` next to the caller's module (`callerUrl`: its import.meta.url).
 * Built, both are .js files in dist/ and Node runs the worker directly. From source (vitest), both are .ts, which a
 * plain Node worker thread cannot load: the thread first registers source-loader-hooks.mjs (TypeScript's
 * transpileModule), then imports the .ts entry. This needs no extra dependency and no build before tests.
 */
export function startWorkerThread(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const hooks = new URL('./source-loader-hooks.mjs', import.meta.url).href;
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const bootstrap = `import('node:module')
    .then(({ register }) => register(${JSON.stringify(hooks)}))
    .then(() => import(${JSON.stringify(entry)}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}
