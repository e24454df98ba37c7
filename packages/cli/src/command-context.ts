import type { RagClient } from '@rag/client/rag-client';
import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';

/** What every command's action gets from the program. */
export interface CommandContext {
  io: CliIo;
  /** A client for the --url and --key (or RAG_URL, RAG_API_KEY) of this run. */
  client(command: Command): RagClient;
  /** The gateway URL and key of this run, for commands that talk to it other than through the client. */
  gateway(command: Command): { url: string; key: string };
  out(text: string): void;
  json(value: unknown): void;
  /** Ends the run with this exit code once the action returns. */
  setExitCode(code: number): void;
}
