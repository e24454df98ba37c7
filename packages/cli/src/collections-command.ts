import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';

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
