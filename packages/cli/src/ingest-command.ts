import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { parseExtensions } from './folder-walker.js';
import { formatIngestSummary, formatPlan, ingestFolder, planFolder } from './ingest-folder.js';
import { integerIn } from './option-parsers.js';

interface IngestCommandOptions {
  collection: string;
  concurrency: number;
  wait?: true;
  waitTimeout: number;
  ext?: string[];
  dryRun?: true;
}

export function registerIngestCommand(program: Command, context: CommandContext): void {
  program
    .command('ingest')
    .description(
      'Upload every document under a folder to a collection: PDF, DOCX, XLSX, PPTX, HTML, Markdown, CSV and ' +
        'text, told by content (external id = path in the folder; the title comes from the file); running it ' +
        'again on the same files changes nothing, a changed file becomes the next version',
    )
    .argument('<folder>')
    .requiredOption('-c, --collection <name>', 'the collection to add the documents to')
    .option('--concurrency <n>', 'uploads (and status polls) at a time', integerIn(1, 64), 4)
    .option('--wait', 'wait until every document is ready or failed')
    .option('--wait-timeout <seconds>', 'how long to wait for one document', integerIn(1, 86_400), 600)
    .option('--ext <list>', 'only these extensions, e.g. .md,.txt (default: every file)', parseExtensions)
    .option('--dry-run', 'list what would be sent and what skipped, and why; send nothing')
    .action(async (folder: string, options: IngestCommandOptions, command: Command) => {
      if (options.dryRun) {
        context.out(formatPlan(await planFolder({ folder: resolve(folder), extensions: options.ext ?? [] })));
        return;
      }
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
      if (summary.failed.length > 0 || summary.unfinished.length > 0) context.setExitCode(1);
    });
}
