import { createJsonClient } from './json-client.js';
import {
  type InternalSearchRequest,
  type InternalSearchResponse,
  internalSearchResponseSchema,
} from './search-api.js';

export interface SearchClient {
  search(request: InternalSearchRequest): Promise<InternalSearchResponse>;
}

export function createSearchClient(baseUrl: string, timeoutMs = 30_000): SearchClient {
  const client = createJsonClient({ baseUrl, service: 'search-service', timeoutMs });
  return {
    search: (request) => client.post('/v1/search', request, internalSearchResponseSchema),
  };
}
