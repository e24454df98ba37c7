import type { QueryBundle } from '@llamaindex/core/query-engine';
import { BaseRetriever } from '@llamaindex/core/retriever';
import { type NodeWithScore, TextNode } from '@llamaindex/core/schema';
import { type HitMetadata, hitMetadata } from '@rag/client/hit-metadata';
import { createRagClient, type RagClient, type SearchRequest } from '@rag/client/rag-client';

export interface RagRetrieverOptions {
  baseUrl: string;
  apiKey: string;
  collection: string;
  topK?: number;
  mode?: SearchRequest['mode'];
  filter?: SearchRequest['filter'];
  timeoutMs?: number;
}

/**
 * A LlamaIndex.TS retriever over the search API: each hit is a NodeWithScore whose TextNode has the chunk id
 * as its id and metadata with id, document_id, external_id, title, heading_path, page and score.
 */
export class RagRetriever extends BaseRetriever {
  private readonly client: RagClient;
  private readonly options: RagRetrieverOptions;

  constructor(options: RagRetrieverOptions) {
    super();
    this.options = options;
    this.client = createRagClient({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  override async _retrieve(params: QueryBundle): Promise<NodeWithScore<HitMetadata>[]> {
    const answer = await this.client.search({
      collection: this.options.collection,
      query: queryText(params.query),
      top_k: this.options.topK ?? 10,
      ...(this.options.mode === undefined ? {} : { mode: this.options.mode }),
      ...(this.options.filter === undefined ? {} : { filter: this.options.filter }),
    });
    return answer.results.map((hit) => ({
      node: new TextNode<HitMetadata>({ id_: hit.chunk_id, text: hit.text, metadata: hitMetadata(hit) }),
      score: hit.score,
    }));
  }
}

/** A query may come as rich message content; its text parts are the query. */
function queryText(query: QueryBundle['query']): string {
  if (typeof query === 'string') return query;
  return query
    .map((part) => (part.type === 'text' ? part.text : ''))
    .join(' ')
    .trim();
}
