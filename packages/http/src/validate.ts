import { AppError } from '@rag/contracts/app-error';
import type { z } from 'zod';

/** Parses untrusted input; a failure names every offending field in the problem's `errors`. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what = 'request body',
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.join('.') || '(root)',
    message: issue.message,
  }));
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new AppError('validation_failed', `Invalid ${what}: ${summary}`, { context: { issues } });
}
