import type { Embedding, OutputKind } from '@rag/contracts/embedding-api';
import type { ModelManifest } from '@rag/models/model-manifest';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  type ExecutionProviderConfig,
  explainProviderFailure,
  providerSessionOptions,
} from './execution-provider.js';
import { colbertEmbedding, denseEmbedding, type OutputTensor, sparseEmbedding } from './post-processing.js';

export interface BatchRow {
  ids: readonly number[];
  outputs: readonly OutputKind[];
}

export interface ModelRunner {
  /** Runs one padded batch and returns one embedding per row, holding the outputs that row asked for. */
  run(rows: readonly BatchRow[]): Promise<Embedding[]>;
  release(): Promise<void>;
}

export interface ModelRunnerOptions {
  modelPath: string;
  manifest: ModelManifest;
  threads: number;
  /**
   * Let idle intra-op threads spin between the operators of a run instead of sleeping (default false); they stop
   * spinning as soon as the run returns (session.force_spinning_stop), so an idle session takes no CPU. Faster for a
   * session that runs alone; beside other sessions, spinning threads take the cores that those need.
   */
  spinning?: boolean | undefined;
  provider?: ExecutionProviderConfig | undefined;
  padId: number;
  /** Token ids that carry no lexical weight in the sparse output (CLS, EOS, PAD, UNK). */
  specialIds: ReadonlySet<number>;
}

export async function loadModelRunner(options: ModelRunnerOptions): Promise<ModelRunner> {
  const { manifest, padId, specialIds } = options;
  const provider = options.provider ?? { name: 'cpu', deviceId: 0 };
  const sessionOptions = modelSessionOptions({ ...options, provider });
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(options.modelPath, sessionOptions);
  } catch (error) {
    throw explainProviderFailure(provider, error);
  }
  const outputNames = resolveGraphOutputs(session, manifest, options.modelPath);

  return {
    async run(rows) {
      const paddedLength = Math.max(...rows.map((row) => row.ids.length));
      const size = rows.length * paddedLength;
      const inputIds = new BigInt64Array(size).fill(BigInt(padId));
      const attentionMask = new BigInt64Array(size);
      rows.forEach((row, r) => {
        row.ids.forEach((id, t) => {
          inputIds[r * paddedLength + t] = BigInt(id);
          attentionMask[r * paddedLength + t] = 1n;
        });
      });
      const dims = [rows.length, paddedLength];
      const feeds: Record<string, Tensor> = {
        input_ids: new Tensor('int64', inputIds, dims),
        attention_mask: new Tensor('int64', attentionMask, dims),
      };
      if (manifest.tokenTypeIds) feeds.token_type_ids = new Tensor('int64', new BigInt64Array(size), dims);

      const wanted = new Set(rows.flatMap((row) => row.outputs));
      const fetches = [...wanted].map((kind) => outputNames[kind]).filter((name) => name !== undefined);
      const results = await session.run(feeds, fetches);
      const tensor = (kind: OutputKind): OutputTensor => {
        const name = outputNames[kind];
        const value = name === undefined ? undefined : results[name];
        if (value === undefined || !(value.data instanceof Float32Array)) {
          throw new Error(`Model output ${name ?? kind} is missing or not float32`);
        }
        return { data: value.data, dims: value.dims };
      };

      return rows.map((row, r) => {
        const embedding: Embedding = { tokens: row.ids.length };
        for (const kind of row.outputs) {
          if (kind === 'dense') {
            const { pooling, normalize } = manifest.outputs.dense;
            embedding.dense = denseEmbedding(tensor('dense'), r, row.ids.length, pooling, normalize);
          } else if (kind === 'sparse') {
            embedding.sparse = sparseEmbedding(tensor('sparse'), r, row.ids, specialIds);
          } else {
            embedding.colbert = colbertEmbedding(tensor('colbert'), r, row.ids.length, paddedLength);
          }
        }
        return embedding;
      });
    },
    async release() {
      await session.release();
    },
  };
}

/** The session options of a worker's session (exported for its test). */
export function modelSessionOptions(
  options: Pick<ModelRunnerOptions, 'threads' | 'spinning'> & { provider: ExecutionProviderConfig },
): InferenceSession.SessionOptions {
  return {
    executionProviders: providerSessionOptions(options.provider),
    intraOpNumThreads: options.threads,
    // One batch runs at a time per worker, so parallelism inside an operator is all there is to use.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // On CPU no memory pattern (the one block per input shape that ONNX Runtime plans for a run's intermediate
    // tensors after its first run of that shape). Its session's arena never gives memory back, and with the pattern
    // it kept more of it: multilingual-e5-small fp32, one single-threaded session after batches of 2 texts of 512
    // tokens held 339 MB resident with it and 267 without, at the same speed (runs alternated: 2 × 512 tokens 622.8
    // against 622.6 ms, 8 × 128 494.7 against 497.8). The service's peak in bench:embed --tokens 512 went from
    // 1346-1347 MB to 1129-1138. The other ways to bound an arena did worse: onnxruntime-node does not pass run options
    // such as memory.enable_memory_arena_shrinkage to the runtime (no change), and without an arena
    // (enableCpuMemArena: false) the same session's process peaked at 896 MB against 323.
    enableMemPattern: options.provider.name !== 'cpu',
    extra: {
      session: {
        intra_op: { allow_spinning: options.spinning === true ? '1' : '0' },
        ...(options.spinning === true ? { force_spinning_stop: '1' } : {}),
      },
    },
  };
}

/**
 * Checks the graph against the manifest and returns the graph's name for each output the manifest declares:
 * the manifest's name, or the name at the manifest's index for positional exports.
 */
export function resolveGraphOutputs(
  session: Pick<InferenceSession, 'inputNames' | 'outputNames'>,
  manifest: ModelManifest,
  modelPath: string,
): Record<OutputKind, string | undefined> {
  const inputs = ['input_ids', 'attention_mask', ...(manifest.tokenTypeIds ? ['token_type_ids'] : [])];
  const missingInputs = inputs.filter((name) => !session.inputNames.includes(name));
  const extraInputs = session.inputNames.filter((name) => !inputs.includes(name));
  const problems = [
    ...missingInputs.map((name) => `has no input '${name}'`),
    ...extraInputs.map((name) => `has an input '${name}' the manifest does not feed (tokenTypeIds?)`),
  ];
  const resolved: Record<OutputKind, string | undefined> = {
    dense: undefined,
    sparse: undefined,
    colbert: undefined,
  };
  for (const kind of ['dense', 'sparse', 'colbert'] as const) {
    const output = manifest.outputs[kind];
    if (output === null) continue;
    if (output.index !== undefined) {
      const name = session.outputNames[output.index];
      if (name === undefined)
        problems.push(`has no output at index ${output.index} (${kind}, '${output.name}')`);
      resolved[kind] = name;
    } else if (session.outputNames.includes(output.name)) {
      resolved[kind] = output.name;
    } else {
      problems.push(`has no output '${output.name}' named in the manifest (${kind})`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${modelPath} does not match manifest ${manifest.name}: it ${problems.join('; ')} ` +
        `(graph inputs: ${session.inputNames.join(', ')}; outputs: ${session.outputNames.join(', ')})`,
    );
  }
  return resolved;
}
