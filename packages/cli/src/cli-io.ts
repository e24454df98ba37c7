import type { Writable } from 'node:stream';

export type Output = Writable & { isTTY?: boolean };

/** What the CLI talks to: its streams and environment, passed in so tests can run it in-process. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  /** The HTTP client's fetch; the global one when left out. */
  fetch?: typeof globalThis.fetch;
}
