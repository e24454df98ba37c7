import type { z } from 'zod';

export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validates raw config against a schema and reports every problem at once, each with the environment
 * variable that feeds it (the schema paths are nested groups, operators think in variable names).
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  envNames: Record<string, string> = {},
): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join('.');
    const envName = envNames[path];
    return `${envName ? `${envName} (${path})` : path || '(root)'}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
