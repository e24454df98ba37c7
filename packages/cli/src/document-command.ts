import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { UsageError } from './usage-error.js';

export function registerDocumentCommand(program: Command, context: CommandContext): void {
  // "doc <id>" and "doc delete <id>" share the command: commander cannot mix an argument and subcommands.
  program
    .command('doc')
    .description("Print a document's status as JSON, or delete it")
    .usage('<id> | delete <id>')
    .argument('<id-or-action>', 'a document id, or "delete"')
    .argument('[id]', 'the document id, after "delete"')
    .action(async (first: string, second: string | undefined, _options: unknown, command: Command) => {
      const client = context.client(command);
      if (first === 'delete') {
        if (second === undefined) throw new UsageError('usage: rag doc delete <id>');
        const deletion = await client.deleteDocument(second);
        context.out(`deleting document ${deletion.id}\n`);
        return;
      }
      if (second !== undefined) throw new UsageError('usage: rag doc <id> | rag doc delete <id>');
      context.json(await client.getDocument(first));
    });
}
