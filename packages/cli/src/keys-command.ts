import type { ApiKeyList } from '@rag/client/rag-client';
import { roles } from '@rag/contracts/identifiers';
import { type Command, Option } from 'commander';
import type { CommandContext } from './command-context.js';
import { commaList } from './option-parsers.js';

interface CreateOptions {
  tenant: string;
  role: (typeof roles)[number];
  collections?: string[];
  principals?: string[];
  expiresAt?: string;
  name?: string;
  json?: true;
}

export function registerKeysCommand(program: Command, context: CommandContext): void {
  const keys = program.command('keys').description('Create, list and revoke API keys');

  keys
    .command('create')
    .description('Create an API key and print it (it is shown only this once)')
    .requiredOption('--tenant <tenant>', 'the tenant the key belongs to')
    .addOption(new Option('--role <role>', 'what the key may do').choices(roles).makeOptionMandatory())
    .option('--collections <names>', 'comma-separated collections the key is limited to', commaList)
    .option('--principals <principals>', 'comma-separated ACL principals the key acts as', commaList)
    .option('--expires-at <time>', 'ISO 8601 time with an offset, e.g. 2030-01-01T00:00:00Z')
    .option('--name <name>', 'a name to recognise the key by')
    .option('--json', 'print the whole API response as JSON')
    .action(async (options: CreateOptions, command: Command) => {
      const created = await context.client(command).createApiKey({
        tenant: options.tenant,
        role: options.role,
        ...(options.collections ? { collections: options.collections } : {}),
        ...(options.principals ? { principals: options.principals } : {}),
        ...(options.expiresAt ? { expires_at: options.expiresAt } : {}),
        ...(options.name ? { name: options.name } : {}),
      });
      if (options.json) {
        context.json(created);
        return;
      }
      // The key alone on stdout, so that KEY=$(rag keys create ...) works; the rest is for the reader.
      context.out(`${created.key}\n`);
      context.io.stderr.write(
        `created key ${created.id} (${created.role} of ${created.tenant}); it is not shown again\n`,
      );
    });

  keys
    .command('list')
    .description('List API keys (never the keys themselves)')
    .option('--tenant <tenant>', 'only the keys of this tenant')
    .option('--json', 'print the API response as JSON')
    .action(async (options: { tenant?: string; json?: true }, command: Command) => {
      const answer = await context
        .client(command)
        .listApiKeys(options.tenant === undefined ? {} : { tenant: options.tenant });
      if (options.json) context.json(answer);
      else context.out(formatKeyTable(answer));
    });

  keys
    .command('revoke')
    .description('Revoke an API key at once')
    .argument('<id>', 'the key id (from rag keys list)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const revoked = await context.client(command).revokeApiKey(id);
      context.out(`revoked key ${revoked.id} at ${revoked.revoked_at}\n`);
    });
}

export function formatKeyTable({ keys }: ApiKeyList): string {
  const header = ['ID', 'PREFIX', 'TENANT', 'ROLE', 'COLLECTIONS', 'EXPIRES', 'REVOKED', 'NAME'];
  const rows = keys.map((key) => [
    key.id,
    key.prefix,
    key.tenant,
    key.role,
    key.collections?.join(',') ?? '*',
    key.expires_at ?? '-',
    key.revoked_at ?? '-',
    key.name ?? '',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) => `${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd())
    .join('\n')
    .concat('\n');
}
