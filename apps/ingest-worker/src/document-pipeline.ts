import { createHash } from 'node:crypto';
import { AppError } from '@rag/contracts/app-error';
import { chunkDocument, type DocumentChunk } from '@rag/documents/chunker';
import type { DocumentExtractor } from '@rag/documents/document-extractor';
import { extractInlineText } from '@rag/documents/extract-document';
import type { ExtractedDocument } from '@rag/documents/extracted-document';
import type { EmbeddingClient } from '@rag/service-clients/embedding-client';
import type { ObjectStorage } from '@rag/storage/object-storage';
import { modelChunkBudget, modelTokenizer } from './chunk-budget.js';

/** What a version is built from: text in its job, or a file in object storage. */
export type VersionContent =
  | { kind: 'inline'; text: string; mediaType?: string | undefined }
  | { kind: 'storage'; key: string; mediaType?: string | undefined; filename?: string | undefined };

/**
 * A document's content, read once: `extract` parses it; its hash (taken only when asked) decides whether an
 * upstream job's content is new.
 */
export interface LoadedContent {
  contentHash(): string;
  extract(): Promise<ExtractedDocument>;
}

export interface DocumentPipeline {
  load(content: VersionContent): Promise<LoadedContent>;
  /** Chunks with their context lines: `title` is the one the document shows. */
  chunk(document: ExtractedDocument, title: string | null): Promise<DocumentChunk[]>;
}

export interface DocumentPipelineOptions {
  storage: ObjectStorage;
  embeddings: EmbeddingClient;
  /**
   * Parses files, shared by every job of the process: its threads bound how many files are parsed at once, so the
   * parsers' memory and CPU do not grow with the number of jobs.
   */
  extractor: DocumentExtractor;
  /** The largest file read from object storage. */
  maxInputBytes: number;
  overlapTokens: number;
}

/**
 * Reads content (inline or from object storage), extracts text with @rag/documents and chunks it with the
 * embedding model's own tokenizer, so every chunk fits the model's input with the passage prefix.
 */
export function createDocumentPipeline(options: DocumentPipelineOptions): DocumentPipeline {
  let budget: Promise<number> | undefined;

  /** Tokens a chunk may have: the model's maximum minus its special tokens and the passage prefix. */
  async function chunkTokenBudget(): Promise<number> {
    const tokens = await modelChunkBudget(options.embeddings);
    if (tokens <= options.overlapTokens) {
      throw new AppError(
        'internal',
        `Chunk overlap (${options.overlapTokens} tokens) leaves no room in the model's ${tokens}-token budget`,
      );
    }
    return tokens;
  }

  const tokenize = modelTokenizer(options.embeddings);

  return {
    async load(content) {
      if (content.kind === 'inline') {
        return {
          contentHash: () => sha256(content.text),
          extract: async () =>
            extractInlineText(content.text, content.mediaType ? { mediaType: content.mediaType } : {}),
        };
      }
      const bytes = await options.storage.get(content.key, { maxBytes: options.maxInputBytes });
      const hints = {
        ...(content.filename ? { filename: content.filename } : {}),
        ...(content.mediaType ? { mediaType: content.mediaType } : {}),
      };
      return {
        contentHash: () => sha256(bytes),
        extract: () => options.extractor.extract(bytes, hints),
      };
    },

    async chunk(document, title) {
      budget ??= chunkTokenBudget().catch((error: unknown) => {
        budget = undefined;
        throw error;
      });
      const maxTokens = await budget;
      return chunkDocument(document, tokenize, { maxTokens, overlapTokens: options.overlapTokens, title });
    },
  };
}

export function sha256(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}
