import type { ReindexStatus } from '@rag/client/rag-client';
import { createProgressReporter } from '@rag/models/progress-reporter';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { UsageError } from './usage-error.js';

/** A reindex as one line: state, models, progress, rate and time left. */
export function formatReindex(status: ReindexStatus): string {
  const rate = status.documents_per_second === null ? '' : `, ${status.documents_per_second} documents/s`;
  const eta = status.eta_seconds === null ? '' : `, about ${status.eta_seconds} s left`;
  const error = status.error ? ` (${status.error})` : '';
  return (
    `${status.collection}: ${status.state}${error}, ${status.from_model ?? 'the default model'} -> ${status.to_model}, ` +
    `${status.documents.done}/${status.documents.total} documents${rate}${eta}\n`
  );
}

/**
 * `rag reindex <collection> --model M [--watch]`: moves a collection to another served model; `--status` shows
 * the latest reindex and `--cancel` stops the running one. With `--watch`, a progress bar until it ends; the
 * exit code is 0 once the collection switched, 1 when the reindex failed or was cancelled.
 */
export function registerReindexCommand(program: Command, context: CommandContext): void {
  program
    .command('reindex')
    .description('Move a collection to another embedding model (the old model serves until the switch)')
    .argument('<collection>')
    .option('--model <name>', 'the served model to move to (GET /v1/models)')
    .option('--status', 'show the latest reindex instead of starting one')
    .option('--cancel', 'cancel the running reindex')
    .option('--watch', 'follow the reindex with a progress bar until it ends')
    .option('--interval <ms>', 'how often --watch asks', '1000')
    .option('--json', 'print the API response as JSON')
    .action(
      async (
        collection: string,
        options: {
          model?: string;
          status?: true;
          cancel?: true;
          watch?: true;
          interval: string;
          json?: true;
        },
        command: Command,
      ) => {
        const chosen = [options.model !== undefined, options.status, options.cancel].filter(Boolean).length;
        if (chosen !== 1) throw new UsageError('give one of --model <name>, --status or --cancel');
        const interval = Number(options.interval);
        if (!Number.isInteger(interval) || interval < 50)
          throw new UsageError('--interval: at least 50 (ms)');
        const client = context.client(command);
        let status = options.cancel
          ? await client.cancelReindex(collection)
          : options.model !== undefined
            ? await client.startReindex(collection, { model: options.model })
            : await client.getReindex(collection);
        if (options.watch && status.state === 'running') {
          const progress = createProgressReporter(context.io.stderr);
          const task = progress.task(
            `reindex ${collection} -> ${status.to_model}`,
            status.documents.total,
            'items',
          );
          while (status.state === 'running') {
            task.update(status.documents.done);
            await new Promise((resolve) => setTimeout(resolve, interval));
            status = await client.getReindex(collection);
          }
          task.update(status.documents.done);
          task.finish();
        }
        if (options.json) context.json(status);
        else context.out(formatReindex(status));
        if (options.watch && status.state !== 'switched') context.setExitCode(1);
      },
    );
}
