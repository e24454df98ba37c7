import type { SearchRequest } from '@rag/client/rag-client';
import type { SearchMode } from '@rag/contracts/public-api';
import { buildFilter, type FilterDraft } from './filter-model.js';

/** One column of the playground: everything a search can be asked to do besides the query. */
export interface SearchSettings {
  mode: SearchMode;
  fusion: 'weighted' | 'rrf';
  /** Off: the server's default weights. */
  customWeights: boolean;
  weights: { dense: number; sparse: number; bm25: number };
  rerank: 'none' | 'colbert';
  topK: number;
  groupByDocument: boolean;
  filter: FilterDraft;
}

export const defaultSettings: SearchSettings = {
  mode: 'hybrid',
  fusion: 'weighted',
  customWeights: false,
  weights: { dense: 0.6, sparse: 0.25, bm25: 0.4 },
  rerank: 'none',
  topK: 10,
  groupByDocument: false,
  filter: { join: 'and', rows: [] },
};

/** The request body for these settings, naming only what differs from the API's defaults where it can. */
export function searchRequest(collection: string, query: string, settings: SearchSettings): SearchRequest {
  const filter = buildFilter(settings.filter);
  const hybrid = settings.mode === 'hybrid';
  return {
    collection,
    query,
    top_k: settings.topK,
    mode: settings.mode,
    ...(settings.rerank !== 'none' ? { rerank: settings.rerank } : {}),
    ...(hybrid && settings.fusion !== 'weighted' ? { fusion: settings.fusion } : {}),
    ...(hybrid && settings.customWeights ? { weights: { ...settings.weights } } : {}),
    ...(settings.groupByDocument ? { group_by_document: true } : {}),
    ...(filter ? { filter } : {}),
  };
}
