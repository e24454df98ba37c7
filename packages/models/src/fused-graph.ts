import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { runModelBuilder } from './model-builders.js';
import { loadModelFolder, manifestFileName, parseModelManifest } from './model-manifest.js';
import type { ProgressReporter } from './progress-reporter.js';

/** How far the fused graph's outputs may be from the plain graph's for the fused one to be used. */
export const defaultFuseTolerance = 1e-4;

export interface FuseOutcome {
  /** Whether the folder's manifest now names a fused graph. */
  fused: boolean;
  /** What happened, for the user. */
  note: string;
}

interface FuseReport {
  tool: string;
  fusedKernels: Record<string, number>;
  maxAbsDiff: number;
  tolerance: number;
}

/**
 * Writes the BERT-fused form of a model folder's graph beside it (tools/model-builders/fuse_graph.py: ONNX Runtime's
 * transformers optimiser) and points the folder's manifest at it, with `fusedFrom` saying what it was made from, by
 * what, and how far the outputs were apart. Only when every output is within `tolerance` of the plain graph's;
 * otherwise the folder is left as it was. The manifest is the folder's own rag-model.json (not a separate one).
 */
export async function fuseModelFolder(
  dir: string,
  progress: ProgressReporter,
  tolerance = defaultFuseTolerance,
): Promise<FuseOutcome> {
  const folder = await loadModelFolder(dir);
  const { manifest } = folder;
  if (manifest.fusedFrom !== undefined) {
    return {
      fused: true,
      note: `already fused: ${manifest.files.model}, made from ${manifest.fusedFrom.model}`,
    };
  }
  const plain = manifest.files.model;
  const fused = posix.join(posix.dirname(plain), 'model-fused.onnx');
  const scratch = await mkdtemp(join(tmpdir(), 'rag-fuse-'));
  const reportPath = join(scratch, 'report.json');
  try {
    let failure: unknown;
    await runModelBuilder(
      'fuse_graph.py',
      [
        '--model',
        folder.modelPath,
        '--out',
        join(folder.dir, fused),
        '--tolerance',
        String(tolerance),
        '--report',
        reportPath,
      ],
      progress,
    ).catch((error: unknown) => {
      failure = error;
    });
    const report = await readFile(reportPath, 'utf8').then(
      (text) => JSON.parse(text) as FuseReport,
      () => undefined,
    );
    if (report === undefined) throw failure ?? new Error('fuse_graph.py wrote no report');
    const kernels = Object.entries(report.fusedKernels)
      .map(([op, count]) => `${count} ${op}`)
      .join(', ');
    if (failure !== undefined || !(report.maxAbsDiff <= tolerance)) {
      return {
        fused: false,
        note: `kept ${plain}: the fused graph's outputs differ by up to ${report.maxAbsDiff}, more than ${tolerance}`,
      };
    }
    const manifestPath = join(folder.dir, manifestFileName);
    const raw = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
    const updated = {
      ...raw,
      files: { ...manifest.files, model: fused },
      fusedFrom: {
        model: plain,
        tool: report.tool,
        kernels: report.fusedKernels,
        maxAbsDiff: report.maxAbsDiff,
        tolerance,
      },
    };
    parseModelManifest(updated, manifestPath);
    // Renamed into place, so that a service starting meanwhile reads the old manifest or the new one, never half.
    const staged = `${manifestPath}.fused-${process.pid}`;
    await writeFile(staged, `${JSON.stringify(updated, null, 2)}\n`);
    await rename(staged, manifestPath);
    return {
      fused: true,
      note: `${fused} (${kernels || 'no kernels fused'}; outputs within ${report.maxAbsDiff} of ${plain}) is now the folder's graph`,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
