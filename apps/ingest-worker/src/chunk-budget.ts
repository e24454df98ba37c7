import { AppError } from '@rag/contracts/app-error';
import {
  contextLine,
  contextTokenBudget,
  contextualText,
  fitContext,
  fitContextLines,
} from '@rag/documents/chunk-context';
import type { TokenizeFn } from '@rag/documents/chunker';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';

/** Tokens a chunk (with its context line) may have: the model's maximum minus its special tokens and the passage prefix. */
export async function modelChunkBudget(embeddings: EmbeddingClient): Promise<number> {
  const model = await embeddings.modelInfo();
  const framing = await embeddings.tokenize({
    inputs: [model.prefixes?.passage ?? ''],
    addSpecialTokens: true,
  });
  const tokens = model.maxLength - (framing.data[0]?.ids.length ?? 0);
  if (tokens < 1)
    throw new AppError('internal', `The model's ${model.maxLength}-token input leaves no room for text`);
  return tokens;
}

/** The embedding service's tokenizer as the chunker asks for it: ids and offsets, no special tokens. */
export function modelTokenizer(embeddings: EmbeddingClient): TokenizeFn {
  return async (texts) => {
    // The service refuses an empty list; stored chunks without a title or heading path ask for none.
    if (texts.length === 0) return [];
    const answer = await embeddings.tokenize({ inputs: texts, addSpecialTokens: false, offsets: true });
    return answer.data.map((item) => ({ ids: item.ids, offsets: item.offsets ?? [] }));
  };
}

/**
 * Context lines of stored chunks (their document's shown title and their heading path), cut as the chunker
 * cuts them, so a chunk embedded again from PostgreSQL is embedded as ingestion embedded it. A chunk cut before
 * context lines existed may leave less room than the line's share of the budget: there the line gives way.
 */
export async function storedChunkContexts(
  embeddings: EmbeddingClient,
  chunks: readonly { title: string | null; headingPath: readonly string[]; text: string }[],
): Promise<string[]> {
  if (chunks.length === 0) return [];
  const maxTokens = await modelChunkBudget(embeddings);
  const tokenize = modelTokenizer(embeddings);
  const lines = await fitContextLines(
    chunks.map((chunk) => contextLine(chunk.title, chunk.headingPath)),
    tokenize,
    contextTokenBudget(maxTokens),
  );
  const withLine = [...lines.keys()].filter((index) => lines[index] !== '');
  const counts = await tokenize(
    withLine.map((index) => contextualText(lines[index] as string, (chunks[index] as { text: string }).text)),
  );
  for (const [k, index] of withLine.entries()) {
    const excess = (counts[k]?.ids.length ?? 0) - maxTokens;
    if (excess <= 0) continue;
    const line = lines[index] as string;
    const [own] = await tokenize([line]);
    lines[index] = fitContext(line, own?.offsets ?? [], (own?.offsets.length ?? 0) - excess);
  }
  return lines;
}
