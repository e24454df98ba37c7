import type { SearchResponse } from '@rag/client/rag-client';
import { searchModes } from '@rag/contracts/public-api';
import { type Command, Option } from 'commander';
import type { CommandContext } from './command-context.js';
import { integerIn } from './option-parsers.js';

const snippetLength = 200;

export function registerSearchCommand(program: Command, context: CommandContext): void {
  program
    .command('search')
    .description('Search a collection and print the ranked results')
    .argument('<query>', 'what to look for')
    .requiredOption('-c, --collection <name>', 'the collection to search')
    .option('-k, --top-k <n>', 'how many results', integerIn(1, 100), 5)
    .addOption(new Option('--mode <mode>', 'which signals to use').choices(searchModes).default('hybrid'))
    .option('--json', 'print the API response as JSON')
    .action(async (query: string, options: SearchOptions, command: Command) => {
      const answer = await context.client(command).search({
        collection: options.collection,
        query,
        top_k: options.topK,
        mode: options.mode,
      });
      if (options.json) context.json(answer);
      else context.out(formatSearchResults(answer));
    });
}

interface SearchOptions {
  collection: string;
  topK: number;
  mode: (typeof searchModes)[number];
  json?: true;
}

/**
 * One block per result: rank, score, external id (or document id) and title, where the chunk sits (page,
 * headings) when known, then the start of the text.
 */
export function formatSearchResults(answer: SearchResponse): string {
  if (answer.results.length === 0) return 'no results\n';
  return answer.results
    .map((result, i) => {
      const name = result.external_id ?? result.document_id;
      const title = result.title && result.title !== name ? `  ${result.title}` : '';
      const text = result.text.replace(/\s+/g, ' ').trim();
      const snippet = text.length > snippetLength ? `${text.slice(0, snippetLength)}…` : text;
      const place = [
        ...(result.page !== null ? [`p. ${result.page}`] : []),
        ...(result.heading_path.length > 0 ? [result.heading_path.join(' > ')] : []),
      ].join(', ');
      return `${i + 1}. ${result.score.toFixed(4)}  ${name}${title}${place ? `  (${place})` : ''}\n   ${snippet}\n`;
    })
    .join('');
}
