import type { Embedding, OutputKind } from '@rag/contracts/embedding-api';
import type { ModelManifest } from '@rag/models/model-manifest';
import { InferenceSession, Tensor } from 'onnxruntime-node';
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
  padId: number;
  specialIds: ReadonlySet<number>;
}

export async function loadModelRunner(options: ModelRunnerOptions): Promise<ModelRunner> {
  const { manifest, padId, specialIds } = options;
  const session = await InferenceSession.create(options.modelPath, {
    intraOpNumThreads: options.threads,
    // One batch runs at a time per worker, so parallelism inside an operator is all there is to use.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  checkGraphMatchesManifest(session, manifest, options.modelPath);

  const outputNames: Record<OutputKind, string | undefined> = {
    dense: manifest.outputs.dense.name,
    sparse: manifest.outputs.sparse?.name,
    colbert: manifest.outputs.colbert?.name,
  };

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

function checkGraphMatchesManifest(
  session: InferenceSession,
  manifest: ModelManifest,
  modelPath: string,
): void {
  const inputs = ['input_ids', 'attention_mask', ...(manifest.tokenTypeIds ? ['token_type_ids'] : [])];
  const missingInputs = inputs.filter((name) => !session.inputNames.includes(name));
  const extraInputs = session.inputNames.filter((name) => !inputs.includes(name));
  const declared = [manifest.outputs.dense, manifest.outputs.sparse, manifest.outputs.colbert];
  const missingOutputs = declared
    .flatMap((output) => (output === null ? [] : [output.name]))
    .filter((name) => !session.outputNames.includes(name));
  const problems = [
    ...missingInputs.map((name) => `has no input '${name}'`),
    ...extraInputs.map((name) => `has an input '${name}' the manifest does not feed (tokenTypeIds?)`),
    ...missingOutputs.map((name) => `has no output '${name}' named in the manifest`),
  ];
  if (problems.length > 0) {
    throw new Error(
      `${modelPath} does not match manifest ${manifest.name}: it ${problems.join('; ')} ` +
        `(graph inputs: ${session.inputNames.join(', ')}; outputs: ${session.outputNames.join(', ')})`,
    );
  }
}
