import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ProgressReporter } from './progress-reporter.js';

/** The repository root, from src/ and dist/ alike (both sit two levels below it). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const venvScript = join(repoRoot, 'scripts', 'model-builders-venv.sh');
const venvLock = join(repoRoot, '.venv', 'model-builders.lock');
const python = join(repoRoot, '.venv', 'model-builders', 'bin', 'python');
export const buildersDir = join(repoRoot, 'tools', 'model-builders');

/**
 * Runs a Python model builder from tools/model-builders in its own virtual environment, creating that first
 * (pinned packages from PyPI; a no-op once it exists). Its stderr lines become progress notes.
 */
export async function runModelBuilder(
  script: string,
  args: readonly string[],
  progress: ProgressReporter,
): Promise<void> {
  progress.note('preparing the Python environment .venv/model-builders');
  // Under a lock where flock exists: two test files (or a test run and `pnpm start`) may get here at once.
  await mkdir(join(repoRoot, '.venv'), { recursive: true });
  await run(
    'bash',
    [
      '-c',
      'if command -v flock >/dev/null; then exec flock "$0" bash "$1"; else exec bash "$1"; fi',
      venvLock,
      venvScript,
    ],
    progress,
    'creating .venv/model-builders (needs python3 >= 3.10 and PyPI)',
  );
  await run(python, [join(buildersDir, script), ...args], progress, `tools/model-builders/${script}`);
}

function run(
  command: string,
  args: readonly string[],
  progress: ProgressReporter,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    });
    const lastLines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        lastLines.push(line);
        if (lastLines.length > 20) lastLines.shift();
        progress.note(`  ${line}`);
      });
    }
    child.on('error', (error) =>
      reject(new Error(`${what} could not start: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const tail = lastLines.length > 0 ? `:\n  ${lastLines.join('\n  ')}` : '';
        reject(new Error(`${what} failed (${signal ?? `exit code ${code}`})${tail}`));
      }
    });
  });
}
