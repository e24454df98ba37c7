import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { relativePathProblem, settingPath } from './setting-path.js';

export type Env = Record<string, string | undefined>;

/**
 * Reads a secret from `NAME` or from the file named by `NAME_FILE` (a mounted Kubernetes Secret or a
 * Docker secret). Setting both is a mistake we refuse rather than guess which one wins.
 */
export function readSecret(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = settingPath(env, env[`${name}_FILE`]);
  if (direct !== undefined && direct !== '' && file) {
    throw new Error(`${name} and ${name}_FILE are both set; set only one`);
  }
  if (file) {
    if (!isAbsolute(file)) throw new Error(`${name}_FILE ${relativePathProblem}`);
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new Error(`${name}_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  return direct === '' ? undefined : direct;
}
