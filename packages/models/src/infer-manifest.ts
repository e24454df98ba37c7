import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ModelManifestInput } from './model-manifest.js';
import type { GraphSignature } from './onnx-graph-signature.js';

const hfConfigSchema = z.object({
  hidden_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive().optional(),
  model_type: z.string().optional(),
});
const tokenizerConfigSchema = z.object({ model_max_length: z.number().optional() }).passthrough();
const poolingConfigSchema = z
  .object({
    pooling_mode_cls_token: z.boolean().optional(),
    pooling_mode_mean_tokens: z.boolean().optional(),
  })
  .passthrough();

// RoBERTa-family position ids start at padding_idx + 1 = 2, so two positions are never used by tokens.
const positionOffsetModelTypes = new Set(['roberta', 'xlm-roberta', 'camembert']);

export interface HfFolderFacts {
  repo: string;
  signature: GraphSignature;
  config: unknown;
  tokenizerConfig?: unknown;
  poolingConfig?: unknown;
}

/**
 * A manifest for a Hugging Face model folder that came without one, from the graph's signature and the
 * repository's config files:
 * - outputs dense_vecs / sparse_vecs / colbert_vecs, or exactly three outputs in that order: BGE-M3;
 * - sentence_embedding: a sentence encoder that pools in the graph;
 * - otherwise the first output is per token and pooled as sentence-transformers' 1_Pooling/config.json says
 *   (else CLS for BGE models, mean for the rest).
 * E5 repositories get E5's "query: " / "passage: " prefixes. Anything else should ship a rag-model.json.
 */
export function inferManifest(facts: HfFolderFacts): ModelManifestInput {
  const config = hfConfigSchema.safeParse(facts.config);
  if (!config.success) {
    throw new Error(`${facts.repo}: config.json lacks hidden_size; write a rag-model.json for this model`);
  }
  const { inputs, outputs } = facts.signature;
  const missingInputs = ['input_ids', 'attention_mask'].filter((name) => !inputs.includes(name));
  if (missingInputs.length > 0) {
    throw new Error(
      `${facts.repo}: the ONNX graph has no ${missingInputs.join(', ')} input (inputs: ${inputs})`,
    );
  }
  const repoName = facts.repo.split('/')[1] ?? facts.repo;
  const isE5 = /(^|[-_])e5([-_]|$)/i.test(repoName);

  let family: 'bge-m3' | 'encoder' = 'encoder';
  let dense: ModelManifestInput['outputs']['dense'];
  let sparse: { name: string } | null = null;
  let colbert: { name: string } | null = null;
  if (outputs.includes('dense_vecs')) {
    dense = { name: 'dense_vecs', pooling: 'none', normalize: true };
    sparse = outputs.includes('sparse_vecs') ? { name: 'sparse_vecs' } : null;
    colbert = outputs.includes('colbert_vecs') ? { name: 'colbert_vecs' } : null;
  } else if (outputs.length === 3) {
    const [denseName, sparseName, colbertName] = outputs as [string, string, string];
    dense = { name: denseName, pooling: 'none', normalize: true };
    sparse = { name: sparseName };
    colbert = { name: colbertName };
  } else if (outputs.includes('sentence_embedding')) {
    dense = { name: 'sentence_embedding', pooling: 'none', normalize: true };
  } else {
    const name = outputs[0];
    if (name === undefined) throw new Error(`${facts.repo}: the ONNX graph has no outputs`);
    dense = { name, pooling: tokenPooling(facts, repoName), normalize: true };
  }
  if (sparse !== null && colbert !== null) family = 'bge-m3';

  const positions = config.data.max_position_embeddings ?? 512;
  let maxLength = positionOffsetModelTypes.has(config.data.model_type ?? '') ? positions - 2 : positions;
  const declared = tokenizerConfigSchema.safeParse(facts.tokenizerConfig ?? {});
  const declaredMax = declared.success ? declared.data.model_max_length : undefined;
  // tokenizer_config.json often says 1e30 for "no limit"; only a real limit below the positions counts.
  if (declaredMax !== undefined && declaredMax > 0 && declaredMax < maxLength) maxLength = declaredMax;

  return {
    name: facts.repo,
    family,
    dim: config.data.hidden_size,
    maxLength,
    tokenTypeIds: inputs.includes('token_type_ids'),
    files: { model: 'model.onnx', tokenizer: 'tokenizer.json' },
    outputs: { dense, sparse, colbert },
    prefixes: isE5 ? { query: 'query: ', passage: 'passage: ' } : { query: '', passage: '' },
    notes: `Inferred from ${facts.repo}'s ONNX graph signature and config files by the models command.`,
  };
}

function tokenPooling(facts: HfFolderFacts, repoName: string): 'cls' | 'mean' {
  const pooling = poolingConfigSchema.safeParse(facts.poolingConfig);
  if (pooling.success && pooling.data.pooling_mode_cls_token) return 'cls';
  if (pooling.success && pooling.data.pooling_mode_mean_tokens) return 'mean';
  return /bge/i.test(repoName) ? 'cls' : 'mean';
}

export async function readJsonIfPresent(dir: string, name: string): Promise<unknown> {
  const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${join(dir, name)} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
