import type { SearchResponse } from '@rag/client/rag-client';
import { searchModes } from '@rag/contracts/public-api';
import { type Command, InvalidArgumentError, Option } from 'commander';
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
    .addOption(new Option('--rerank <how>', 're-rank the top candidates').choices(['none', 'colbert']))
    .addOption(new Option('--fusion <method>', 'how hybrid signals are fused').choices(['weighted', 'rrf']))
    .option('--weights <list>', 'fusion weights, e.g. dense=0.7,bm25=0.3', signalWeights)
    .option('--filter <json>', 'metadata filter, e.g. \'{"field":"lang","eq":"ja"}\'', jsonObject)
    .option('--group-by-document', 'one result per document')
    .option('--json', 'print the API response as JSON')
    .action(async (query: string, options: SearchOptions, command: Command) => {
      const answer = await context.client(command).search({
        collection: options.collection,
        query,
        top_k: options.topK,
        mode: options.mode,
        ...(options.rerank ? { rerank: options.rerank } : {}),
        ...(options.fusion ? { fusion: options.fusion } : {}),
        ...(options.weights ? { weights: options.weights } : {}),
        ...(options.filter ? { filter: options.filter } : {}),
        ...(options.groupByDocument ? { group_by_document: true } : {}),
      });
      if (options.json) context.json(answer);
      else context.out(formatSearchResults(answer));
    });
}

interface SearchOptions {
  collection: string;
  topK: number;
  mode: (typeof searchModes)[number];
  rerank?: 'none' | 'colbert';
  fusion?: 'weighted' | 'rrf';
  weights?: Partial<Record<'dense' | 'sparse' | 'bm25', number>>;
  filter?: Record<string, unknown>;
  groupByDocument?: true;
  json?: true;
}

/** "dense=0.7,bm25=0.3" → {dense: 0.7, bm25: 0.3}; the server checks the rest. */
function signalWeights(value: string): Partial<Record<'dense' | 'sparse' | 'bm25', number>> {
  const weights: Partial<Record<'dense' | 'sparse' | 'bm25', number>> = {};
  for (const part of value.split(',')) {
    const match = /^\s*(dense|sparse|bm25)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) throw new InvalidArgumentError('expected signal=weight pairs, e.g. dense=0.7,bm25=0.3');
    weights[match[1] as 'dense' | 'sparse' | 'bm25'] = Number(match[2]);
  }
  return weights;
}

function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('expected a JSON object');
  }
  return parsed as Record<string, unknown>;
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
