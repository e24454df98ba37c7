/** A mistake in how the command was called (exit code 2), as opposed to a failure of the call (1). */
export class UsageError extends Error {
  readonly isUsageError = true as const;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(value: unknown): value is UsageError {
  return typeof value === 'object' && value !== null && (value as UsageError).isUsageError === true;
}
