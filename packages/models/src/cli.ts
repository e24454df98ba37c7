#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeTinyModel } from './tiny-model.js';

const usage = `Usage: node packages/models/dist/cli.js tiny <dir> [--dim 32] [--seed 42]

  tiny <dir>   Generate the tiny test model (model.onnx, tokenizer.json, rag-model.json) into <dir>.
               Files that already hold the same bytes are left alone, so re-running is a no-op.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { dim: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, dir] = positionals;
  if (values.help || command !== 'tiny' || dir === undefined || positionals.length !== 2) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
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
