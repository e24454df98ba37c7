import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { parseExtensions } from './folder-walker.js';
import { formatIngestSummary, ingestFolder } from './ingest-folder.js';
import { integerIn } from './option-parsers.js';

interface IngestCommandOptions {
  collection: string;
  concurrency: number;
  wait?: true;
  waitTimeout: number;
  ext?: string[];
}

export function registerIngestCommand(program: Command, context: CommandContext): void {
  program
    .command('ingest')
    .description(
      'Add every text file under a folder to a collection (external id = path in the folder, title = first ' +
        'Markdown heading or the file name); running it again on the same files changes nothing',
    )
    .argument('<folder>')
    .requiredOption('-c, --collection <name>', 'the collection to add the documents to')
    .option('--concurrency <n>', 'uploads (and status polls) at a time', integerIn(1, 64), 4)
    .option('--wait', 'wait until every document is ready or failed')
    .option('--wait-timeout <seconds>', 'how long to wait for one document', integerIn(1, 86_400), 600)
    .option('--ext <list>', 'only these extensions, e.g. .md,.txt (default: every file)', parseExtensions)
    .action(async (folder: string, options: IngestCommandOptions, command: Command) => {
      const summary = await ingestFolder(
        context.client(command),
        {
          folder: resolve(folder),
          collection: options.collection,
          concurrency: options.concurrency,
          extensions: options.ext ?? [],
          wait: options.wait === true,
          waitTimeoutMs: options.waitTimeout * 1000,
        },
        context.io.stderr,
      );
      context.out(formatIngestSummary(summary, options.wait === true));
      if (summary.failed.length > 0) context.setExitCode(1);
    });
}
