import type { SearchResponse } from './rag-client.js';

type SearchHit = SearchResponse['results'][number];

/**
 * What a framework retriever (LangChain, LlamaIndex) puts in a document's metadata for one search hit: the
 * same keys in every retriever and in the Python client, so a citation reads the same everywhere.
 */
export function hitMetadata(hit: SearchHit) {
  return {
    id: hit.chunk_id,
    document_id: hit.document_id,
    external_id: hit.external_id,
    title: hit.title,
    heading_path: hit.heading_path,
    page: hit.page,
    score: hit.score,
    metadata: hit.metadata,
  };
}

export type HitMetadata = ReturnType<typeof hitMetadata>;
