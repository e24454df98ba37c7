// Node module hooks that let a worker thread run from TypeScript source (vitest; see worker-thread.ts). Vitest
// transforms the modules of the test's own thread only; a worker_threads Worker is plain Node, and Node 20 cannot
// load .ts. Built code never uses this file: it starts the worker's dist/*.js directly.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export async function resolve(specifier, context, nextResolve) {
  // NodeNext sources import siblings as './x.js'; from source, that file is './x.ts'.
  if (context.parentURL?.endsWith('.ts') && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const candidate = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
  }
  // Same condition as vitest.config.ts, so workspace packages resolve to their src as well.
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, '@rag/source'] });
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
