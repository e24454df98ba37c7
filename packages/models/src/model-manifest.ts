import { access, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** File name of the manifest that describes how to run the ONNX graph in a model folder. */
export const manifestFileName = 'rag-model.json';

const outputName = z.string().min(1);
/**
 * Position of the output in the graph's output list. Some exports give their outputs generated names ('1234',
 * 'output_2'); with `index` set the output is taken by position and `name` only labels it in messages.
 */
const outputIndex = z.number().int().nonnegative().optional();

export const modelManifestSchema = z
  .object({
    name: z.string().min(1),
    /** 'bge-m3': dense + sparse + colbert heads; 'encoder': a plain sentence encoder (dense only). */
    family: z.enum(['bge-m3', 'encoder']),
    dim: z.number().int().positive(),
    /** Tokens per text including the special tokens; longer texts are truncated, keeping the end token. */
    maxLength: z.number().int().positive(),
    /** Whether the graph has a token_type_ids input (fed with zeros). */
    tokenTypeIds: z.boolean(),
    /** Paths relative to the model folder. */
    files: z
      .object({ model: z.string().min(1), tokenizer: z.string().min(1) })
      .strict()
      .default({ model: 'model.onnx', tokenizer: 'tokenizer.json' }),
    outputs: z
      .object({
        dense: z
          .object({
            name: outputName,
            index: outputIndex,
            /** 'none': the graph output is already pooled to [batch, dim]; otherwise pool [batch, seq, dim]. */
            pooling: z.enum(['none', 'cls', 'mean']),
            normalize: z.boolean(),
          })
          .strict(),
        sparse: z.object({ name: outputName, index: outputIndex }).strict().nullable(),
        colbert: z.object({ name: outputName, index: outputIndex }).strict().nullable(),
      })
      .strict(),
    /** Prepended to the text before tokenisation, per kind of text (E5 wants "query: " / "passage: "). */
    prefixes: z.object({ query: z.string(), passage: z.string() }).strict(),
    /**
     * Set when files.model is ONNX Runtime's fused form of another graph in the folder (`pnpm models --fused`): which
     * graph it was made from, by what, and how far apart their outputs were on the check (within the tolerance).
     */
    fusedFrom: z
      .object({
        model: z.string().min(1),
        tool: z.string().min(1),
        kernels: z.record(z.string(), z.number().int().nonnegative()),
        maxAbsDiff: z.number().nonnegative(),
        tolerance: z.number().positive(),
      })
      .strict()
      .optional(),
    /** Free text for people reading the manifest. */
    notes: z.string().optional(),
  })
  .strict();

export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ModelManifestInput = z.input<typeof modelManifestSchema>;

export interface ModelFolder {
  dir: string;
  manifest: ModelManifest;
  modelPath: string;
  tokenizerPath: string;
}

export interface LoadModelFolderOptions {
  /** A manifest kept outside the folder, for model folders that are read-only (shared, mounted). */
  manifestPath?: string | undefined;
}

export function parseModelManifest(value: unknown, source: string): ModelManifest {
  const result = modelManifestSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      return `${path}: ${issue.message}`;
    });
    throw new Error(`Invalid model manifest ${source}:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

/** Reads and validates the manifest of a model folder and checks that the files it names exist. */
export async function loadModelFolder(
  dir: string,
  options: LoadModelFolderOptions = {},
): Promise<ModelFolder> {
  const folder = resolve(dir);
  if (!(await exists(folder))) throw new Error(`Model folder ${folder} does not exist`);

  const manifestPath = resolve(options.manifestPath ?? join(folder, manifestFileName));
  if (!(await exists(manifestPath))) {
    throw new Error(
      options.manifestPath === undefined
        ? `Model folder ${folder} has no ${manifestFileName}; add one or pass manifestPath`
        : `Model manifest ${manifestPath} does not exist`,
    );
  }

  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw new Error(`Model manifest ${manifestPath} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const manifest = parseModelManifest(raw, manifestPath);

  const modelPath = join(folder, manifest.files.model);
  const tokenizerPath = join(folder, manifest.files.tokenizer);
  for (const [field, path] of [
    ['files.model', modelPath],
    ['files.tokenizer', tokenizerPath],
  ] as const) {
    if (!(await exists(path))) {
      throw new Error(`Model folder ${folder} lacks ${path} (manifest field ${field} of ${manifestPath})`);
    }
  }
  return { dir: folder, manifest, modelPath, tokenizerPath };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
