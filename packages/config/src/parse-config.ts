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
 * One problem line of the start-up report: the variable first (operators think in names), then the path. An
 * entry of a list (`urls.1`) is named by the variable of the list.
 */
export function describeProblem(path: string, message: string, envNames: Record<string, string>): string {
  let envName: string | undefined;
  for (let at = path; at !== '' && envName === undefined; at = at.slice(0, Math.max(0, at.lastIndexOf('.'))))
    envName = envNames[at];
  return `${envName ? `${envName} (${path})` : path || '(root)'}: ${message}`;
}

/** The schema's issues as report lines, each with the environment variable that feeds it. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  envNames: Record<string, string>,
): string[] {
  return issues.map((issue) => describeProblem(issue.path.join('.'), issue.message, envNames));
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
  throw new ConfigError(describeIssues(result.error.issues, envNames));
}
