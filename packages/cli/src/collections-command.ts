import { type DocumentStatus, documentStatuses } from '@rag/contracts/public-api';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { UsageError } from './usage-error.js';

export function registerCollectionsCommand(program: Command, context: CommandContext): void {
  const collections = program.command('collections').description('List, create and delete collections');

  collections
    .command('list')
    .description('List the collections the key may use')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { json?: true }, command: Command) => {
      const answer = await context.client(command).listCollections();
      if (options.json) context.json(answer);
      else context.out(answer.collections.map((c) => `${c.name}\t${c.created_at}\n`).join(''));
    });

  collections
    .command('show')
    .description('Show a collection: documents by status, chunks, last change')
    .argument('<name>')
    .option('--json', 'print the API response as JSON')
    .action(async (name: string, options: { json?: true }, command: Command) => {
      const summary = await context.client(command).getCollection(name);
      if (options.json) {
        context.json(summary);
        return;
      }
      const { total, ...byStatus } = summary.documents;
      const counts = Object.entries(byStatus)
        .filter(([, count]) => count > 0)
        .map(([status, count]) => `${count} ${status}`);
      context.out(
        `${summary.name}\n  documents: ${total}${counts.length > 0 ? ` (${counts.join(', ')})` : ''}\n` +
          `  chunks: ${summary.chunks}\n  model: ${summary.model ?? 'the default model'}\n` +
          `  last change: ${summary.last_changed_at ?? 'never'}\n`,
      );
    });

  collections
    .command('docs')
    .description("List a collection's documents, newest first")
    .argument('<name>')
    .option('--status <list>', 'only these statuses, comma-separated (queued, processing, ready, failed)')
    .option('--prefix <text>', 'only external ids starting with this text')
    .option('--limit <n>', 'at most this many documents', '50')
    .option('--json', 'print the documents as JSON')
    .action(
      async (
        name: string,
        options: { status?: string; prefix?: string; limit: string; json?: true },
        command: Command,
      ) => {
        const statuses = options.status?.split(',') ?? [];
        const unknown = statuses.filter((s) => !(documentStatuses as readonly string[]).includes(s));
        if (unknown.length > 0) {
          throw new UsageError(
            `--status: unknown ${unknown.join(', ')} (use ${documentStatuses.join(', ')})`,
          );
        }
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit: a whole number above 0');
        const client = context.client(command);
        const documents = [];
        let cursor: string | undefined;
        do {
          const page = await client.listDocuments(name, {
            limit: Math.min(100, limit - documents.length),
            status: statuses as DocumentStatus[],
            ...(cursor ? { cursor } : {}),
            ...(options.prefix ? { external_id_prefix: options.prefix } : {}),
          });
          documents.push(...page.documents);
          cursor = page.next_cursor ?? undefined;
        } while (cursor && documents.length < limit);
        if (options.json) context.json(documents);
        else
          context.out(
            documents
              .map(
                (d) =>
                  `${d.id}\t${d.status}\tv${d.version}\t${d.chunks}\t${d.external_id ?? ''}\t${d.title ?? ''}\n`,
              )
              .join(''),
          );
      },
    );

  collections
    .command('create')
    .description('Create a collection')
    .argument('<name>')
    .action(async (name: string, _options: unknown, command: Command) => {
      const collection = await context.client(command).createCollection({ name });
      context.out(`created collection ${collection.name}\n`);
    });

  collections
    .command('delete')
    .description('Delete a collection with all its documents')
    .argument('<name>')
    .action(async (name: string, _options: unknown, command: Command) => {
      const deletion = await context.client(command).deleteCollection(name);
      context.out(`deleting collection ${deletion.name}\n`);
    });
}
