import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import { Document } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import { type HitMetadata, hitMetadata } from '@rag/client/hit-metadata';
import { createRagClient, type RagClient, type SearchRequest } from '@rag/client/rag-client';

export interface RagRetrieverInput extends BaseRetrieverInput {
  baseUrl: string;
  apiKey: string;
  collection: string;
  topK?: number;
  mode?: SearchRequest['mode'];
  filter?: SearchRequest['filter'];
  timeoutMs?: number;
  /** For tests: the fetch the client uses. */
  fetch?: typeof globalThis.fetch;
}

/**
 * A LangChain retriever over the search API: each hit is a Document whose metadata carries id (the chunk),
 * document_id, external_id, title, heading_path, page and score, and the document's own metadata.
 */
export class RagRetriever extends BaseRetriever<HitMetadata> {
  static override lc_name() {
    return 'RagRetriever';
  }

  override lc_namespace = ['rag', 'retrievers'];

  private readonly client: RagClient;
  private readonly collection: string;
  private readonly topK: number;
  private readonly mode: SearchRequest['mode'];
  private readonly filter: SearchRequest['filter'];

  constructor(input: RagRetrieverInput) {
    super(input);
    this.client = createRagClient({
      baseUrl: input.baseUrl,
      apiKey: input.apiKey,
      ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs }),
      ...(input.fetch === undefined ? {} : { fetch: input.fetch }),
    });
    this.collection = input.collection;
    this.topK = input.topK ?? 10;
    this.mode = input.mode;
    this.filter = input.filter;
  }

  override async _getRelevantDocuments(
    query: string,
    _runManager?: CallbackManagerForRetrieverRun,
  ): Promise<Document<HitMetadata>[]> {
    const answer = await this.client.search({
      collection: this.collection,
      query,
      top_k: this.topK,
      ...(this.mode === undefined ? {} : { mode: this.mode }),
      ...(this.filter === undefined ? {} : { filter: this.filter }),
    });
    return answer.results.map(
      (hit) => new Document({ pageContent: hit.text, metadata: hitMetadata(hit), id: hit.chunk_id }),
    );
  }
}
