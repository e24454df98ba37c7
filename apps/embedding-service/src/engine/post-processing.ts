import type { SparseVector } from '@rag/contracts/embedding-api';

/**
 * Turns raw graph outputs into embeddings the way BGE-M3's reference implementation (FlagEmbedding) does, so that
 * vectors from this service are interchangeable with ones made by FlagEmbedding.
 */

/** A graph output: row-major float data and its shape. */
export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

export type DensePooling = 'none' | 'cls' | 'mean';

/** torch.nn.functional.normalize: divides by max(norm, eps) so an all-zero vector stays zero instead of NaN. */
export function l2Normalize(vector: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.max(Math.sqrt(sum), 1e-12);
  return Array.from(vector, (value) => value / norm);
}

/**
 * Dense vector of batch row `row`: the graph's pooled output ('none'), the first token ('cls', BGE-M3) or the mean
 * over the row's `tokenCount` real tokens ('mean', E5 and sentence-transformers), optionally L2-normalised.
 */
export function denseEmbedding(
  output: OutputTensor,
  row: number,
  tokenCount: number,
  pooling: DensePooling,
  normalize: boolean,
): number[] {
  let vector: number[];
  if (pooling === 'none') {
    const [, dim] = expectRank(output, 2, 'pooled dense output');
    vector = Array.from(output.data.subarray(row * dim, (row + 1) * dim));
  } else {
    const [, sequence, dim] = expectRank(output, 3, 'token-level dense output');
    const rowStart = row * sequence * dim;
    if (pooling === 'cls') {
      vector = Array.from(output.data.subarray(rowStart, rowStart + dim));
    } else {
      vector = new Array<number>(dim).fill(0);
      for (let t = 0; t < tokenCount; t++) {
        const offset = rowStart + t * dim;
        for (let k = 0; k < dim; k++) vector[k]! += output.data[offset + k]!;
      }
      const count = Math.max(tokenCount, 1);
      vector = vector.map((value) => value / count);
    }
  }
  return normalize ? l2Normalize(vector) : vector;
}

/**
 * Lexical weights of batch row `row`: ReLU of each token's weight, the maximum per token id, without special
 * tokens and zeros. `ids` are the row's unpadded token ids. Indices come out ascending (sparse index stores want that).
 */
export function sparseEmbedding(
  output: OutputTensor,
  row: number,
  ids: readonly number[],
  specialIds: ReadonlySet<number>,
): SparseVector {
  const sequence = output.dims[1];
  const width = output.dims.length === 3 ? output.dims[2] : 1;
  if (sequence === undefined || (output.dims.length !== 2 && output.dims.length !== 3) || width !== 1) {
    throw new Error(
      `Sparse output must have shape [batch, seq] or [batch, seq, 1], got [${output.dims.join(', ')}]`,
    );
  }
  const weights = new Map<number, number>();
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    if (specialIds.has(id)) continue;
    const weight = Math.max(0, output.data[row * sequence + t]!);
    if (weight > (weights.get(id) ?? 0)) weights.set(id, weight);
  }
  const indices = [...weights.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((id) => weights.get(id)!) };
}

/**
 * Multi-vector (ColBERT) embedding of batch row `row`: one L2-normalised vector per token after the first, so the
 * start token is dropped and the end token kept, as FlagEmbedding does. Accepts graphs that emit every position
 * ([batch, seq, dim]) and graphs that already dropped the first one ([batch, seq - 1, dim]).
 */
export function colbertEmbedding(
  output: OutputTensor,
  row: number,
  tokenCount: number,
  paddedLength: number,
): number[][] {
  const [, positions, dim] = expectRank(output, 3, 'ColBERT output');
  let first: number;
  if (positions === paddedLength) first = 1;
  else if (positions === paddedLength - 1) first = 0;
  else throw new Error(`ColBERT output has ${positions} positions for ${paddedLength} input tokens`);
  const vectors: number[][] = [];
  for (let t = 0; t < tokenCount - 1; t++) {
    const offset = (row * positions + first + t) * dim;
    vectors.push(l2Normalize(output.data.subarray(offset, offset + dim)));
  }
  return vectors;
}

type Shape<Rank extends 2 | 3> = Rank extends 2 ? [number, number] : [number, number, number];

function expectRank<Rank extends 2 | 3>(output: OutputTensor, rank: Rank, what: string): Shape<Rank> {
  if (output.dims.length !== rank) {
    throw new Error(`Expected the ${what} to have rank ${rank}, got shape [${output.dims.join(', ')}]`);
  }
  return [...output.dims] as Shape<Rank>;
}
