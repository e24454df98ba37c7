import { isRagApiError } from '@rag/client/rag-api-error';
import { createRagClient } from '@rag/client/rag-client';
import { Command, CommanderError } from 'commander';
import type { CliIo } from './cli-io.js';
import { registerCollectionsCommand } from './collections-command.js';
import type { CommandContext } from './command-context.js';
import { registerDocumentCommand } from './document-command.js';
import { registerIngestCommand } from './ingest-command.js';
import { registerKeysCommand } from './keys-command.js';
import { registerMcpCommand } from './mcp-command.js';
import { registerReindexCommand } from './reindex-command.js';
import { registerSearchCommand } from './search-command.js';
import { isUsageError, UsageError } from './usage-error.js';

export const defaultUrl = 'http://127.0.0.1:8080';

interface GlobalOptions {
  url?: string;
  key?: string;
}

/**
 * Runs one `rag` command line (without the node and script arguments) and returns the exit code:
 * 0 on success, 1 when the call failed, 2 for a usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const gateway = (command: Command) => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const url = options.url ?? io.env.RAG_URL ?? defaultUrl;
    const key = options.key ?? io.env.RAG_API_KEY;
    if (!key) throw new UsageError('No API key: pass --key or set RAG_API_KEY');
    if (!URL.canParse(url)) throw new UsageError(`Not a URL: ${url}`);
    return { url, key };
  };
  const context: CommandContext = {
    io,
    gateway,
    client(command) {
      const { url, key } = gateway(command);
      return createRagClient({ baseUrl: url, apiKey: key, ...(io.fetch ? { fetch: io.fetch } : {}) });
    },
    out: (text) => io.stdout.write(text),
    json: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    setExitCode(code) {
      exitCode = code;
    },
  };

  // Settings made before the subcommands are added are inherited by them.
  const program = new Command('rag')
    .description('Command line for the rag-system public API')
    .option('--url <url>', `the gateway (env RAG_URL, default ${defaultUrl})`)
    .option('--key <key>', 'the API key (env RAG_API_KEY)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  registerIngestCommand(program, context);
  registerSearchCommand(program, context);
  registerDocumentCommand(program, context);
  registerKeysCommand(program, context);
  registerCollectionsCommand(program, context);
  registerMcpCommand(program, context);
  registerReindexCommand(program, context);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message already; help and --version end with 0.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (isUsageError(error)) {
    io.stderr.write(`error: ${error.message}\n`);
    return 2;
  }
  if (isRagApiError(error)) {
    const where = error.status > 0 ? `${error.status} ${error.code}` : error.code;
    io.stderr.write(`error (${where}): ${error.detail}\n`);
    for (const field of error.errors) io.stderr.write(`  ${field.path || '(body)'}: ${field.message}\n`);
    if (error.requestId) io.stderr.write(`request id: ${error.requestId}\n`);
    return 1;
  }
  io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
