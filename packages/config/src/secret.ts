import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { relativePathProblem, settingPath } from './setting-path.js';

export type Env = Record<string, string | undefined>;

/**
 * A secret that cannot be read. `variable` is the one to fix and `problem` what is wrong with it, so that the
 * start-up report lists it beside every other problem (settings.ts); `message` says both.
 */
export class SecretError extends Error {
  readonly variable: string;
  readonly problem: string;

  constructor(variable: string, problem: string, message = `${variable}: ${problem}`) {
    super(message);
    this.name = 'SecretError';
    this.variable = variable;
    this.problem = problem;
  }
}

/**
 * Reads a secret from `NAME` or from the file named by `NAME_FILE` (a mounted Kubernetes Secret or a
 * Docker secret). Setting both is a mistake we refuse rather than guess which one wins.
 */
export function readSecret(env: Env, name: string): string | undefined {
  const direct = env[name];
  const file = settingPath(env, env[`${name}_FILE`]);
  if (direct !== undefined && direct !== '' && file) {
    throw new SecretError(
      name,
      `${name}_FILE is set too; set only one`,
      `${name} and ${name}_FILE are both set; set only one`,
    );
  }
  if (file) {
    if (!isAbsolute(file))
      throw new SecretError(`${name}_FILE`, relativePathProblem, `${name}_FILE ${relativePathProblem}`);
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new SecretError(`${name}_FILE`, `cannot read ${file}: ${(error as Error).message}`);
    }
  }
  return direct === '' ? undefined : direct;
}
