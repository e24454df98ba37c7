import { AppError } from '@rag/contracts/app-error';
import type { ChunkRecord, StoredChunk, DocumentChunk as StoredChunkPlace } from '@rag/db/chunk-repository';
import type { Pool } from '@rag/db/pool';
import {
  type RechunkDocument,
  readRechunkDocuments,
  readVersionChunks,
  stageDocumentChunks,
} from '@rag/db/reindex-chunks';
import type { DocumentSection, ExtractedDocument } from '@rag/documents/extracted-document';
import { documentChunkTerms } from '@rag/lexical/chunk-terms';
import type { ChunkVectorRow } from '@rag/vector-store/chunk-vector-store';
import { modelChunkBudget, modelTokenizer } from './chunk-budget.js';
import { chunkId } from './chunk-id.js';
import type { ModelKit } from './model-kits.js';
import { buildVectorRows, vectorSource } from './vector-row.js';

/**
 * Which texts the model would cut short: more tokens of its own tokenizer than its chunk budget (its input less
 * special tokens and passage prefix). A chunk within the budget keeps all its text; its context line gives way.
 */
export async function overlongTexts(
  embeddings: ModelKit['embeddings'],
  texts: readonly string[],
  batchSize: number,
): Promise<boolean[]> {
  if (texts.length === 0) return [];
  const budget = await modelChunkBudget(embeddings);
  const tokenize = modelTokenizer(embeddings);
  const overlong: boolean[] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const answer = await tokenize(texts.slice(i, i + batchSize));
    overlong.push(...answer.map((item) => item.ids.length > budget));
  }
  return overlong;
}

/**
 * A document's extracted text as its chunks hold it, at the same offsets. A chunk is `text.slice(start, end)` of
 * the extracted text and never crosses a section, and the chunks of a section overlap or touch, so every
 * character of every section is here; only the separators between sections (whitespace, which no chunk holds)
 * are blanks. Sections are the runs of chunks that overlap or touch and share a page and heading path.
 */
export function extractedFromChunks(chunks: readonly StoredChunkPlace[]): ExtractedDocument {
  const ordered = [...chunks].sort((a, b) => a.ordinal - b.ordinal);
  const length = ordered.reduce((end, chunk) => Math.max(end, chunk.endOffset), 0);
  const characters: string[] = new Array(length).fill(' ');
  const sections: DocumentSection[] = [];
  for (const chunk of ordered) {
    if (chunk.endOffset - chunk.startOffset !== chunk.text.length) {
      throw new AppError(
        'internal',
        `Chunk ${chunk.id} does not span its offsets (${chunk.startOffset}-${chunk.endOffset} for ${chunk.text.length} characters); it cannot be cut again`,
      );
    }
    for (let i = 0; i < chunk.text.length; i++) characters[chunk.startOffset + i] = chunk.text[i] as string;
    const last = sections.at(-1);
    if (
      last &&
      chunk.startOffset <= last.end &&
      last.page === chunk.page &&
      sameHeadings(last.headingPath, chunk.headingPath)
    ) {
      last.end = Math.max(last.end, chunk.endOffset);
      continue;
    }
    const start = Math.max(chunk.startOffset, last?.end ?? 0);
    if (chunk.endOffset > start) {
      sections.push({ start, end: chunk.endOffset, page: chunk.page, headingPath: [...chunk.headingPath] });
    }
  }
  return {
    mediaType: 'text/plain',
    text: characters.join(''),
    title: null,
    pageCount: null,
    sections,
  };
}

function sameHeadings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((heading, index) => heading === b[index]);
}

/** A document cut again for a model: its new chunk rows (not yet in `chunks`) and their vector rows. */
export interface CutDocument {
  document: RechunkDocument;
  chunks: ChunkRecord[];
  rows: ChunkVectorRow[];
}

/**
 * Cuts documents again with the target model's chunker (its tokenizer and budget, the worker's overlap) from
 * the extracted text their stored chunks hold, and embeds the new chunks. The new chunks' ids carry `cut` (the
 * reindex's id), so they never collide with the chunks the old model serves until the switch.
 */
export async function cutDocuments(
  deps: { pool: Pool; embedBatchSize: number },
  target: ModelKit,
  collectionId: string,
  documentIds: readonly string[],
  cut: string,
  averageLength: number,
): Promise<CutDocument[]> {
  const documents = await readRechunkDocuments(deps.pool, collectionId, documentIds);
  const done: CutDocument[] = [];
  for (const document of documents) {
    const stored = await readVersionChunks(deps.pool, document.id, document.version);
    if (stored.length === 0) continue;
    const pieces = await target.pipeline.chunk(extractedFromChunks(stored), document.title);
    const terms = documentChunkTerms(pieces);
    const chunks: ChunkRecord[] = pieces.map((piece, index) => ({
      id: chunkId(document.id, document.version, piece.ordinal, cut),
      ordinal: piece.ordinal,
      text: piece.text,
      startOffset: piece.start,
      endOffset: piece.end,
      page: piece.page,
      headingPath: piece.headingPath,
      tokenIds: terms[index]?.counted ?? [],
    }));
    const rows = await buildVectorRows(
      { embeddings: target.embeddings, embedBatchSize: deps.embedBatchSize },
      target.store,
      pieces.map((piece, index) =>
        vectorSource(document, {
          chunkId: (chunks[index] as ChunkRecord).id,
          text: piece.text,
          context: piece.context,
        }),
      ),
      averageLength,
    );
    done.push({ document, chunks, rows });
  }
  return done;
}

/**
 * Stored chunks split into those the target model takes whole and the documents cut again for it (every
 * document with a chunk too long for it, cut as a whole; `reindex.id` goes into the new chunks' ids).
 */
export async function splitOverlong(
  deps: { pool: Pool; embedBatchSize: number },
  target: ModelKit,
  reindex: { id: string; collectionId: string },
  stored: StoredChunk[],
  averageLength: number,
): Promise<{ kept: StoredChunk[]; cut: CutDocument[] }> {
  const overlong = await overlongTexts(
    target.embeddings,
    stored.map((chunk) => chunk.text),
    deps.embedBatchSize,
  );
  const recut = new Set(stored.filter((_, index) => overlong[index]).map((chunk) => chunk.documentId));
  if (recut.size === 0) return { kept: stored, cut: [] };
  const cut = await cutDocuments(deps, target, reindex.collectionId, [...recut], reindex.id, averageLength);
  return { kept: stored.filter((chunk) => !recut.has(chunk.documentId)), cut };
}

/** Keeps the cut documents' new chunks for the switch (their vectors are written first). */
export async function stageCut(pool: Pool, reindexId: string, cut: readonly CutDocument[]): Promise<void> {
  for (const one of cut) await stageDocumentChunks(pool, reindexId, one.document, one.chunks);
}
