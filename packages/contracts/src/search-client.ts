import { createJsonClient } from './json-client.js';
import {
  type InternalSearchRequest,
  type InternalSearchResponse,
  internalSearchResponseSchema,
} from './search-api.js';

export interface SearchClient {
  search(request: InternalSearchRequest): Promise<InternalSearchResponse>;
}

export function createSearchClient(options: {
  baseUrl: string;
  serviceToken: string;
  timeoutMs?: number;
}): SearchClient {
  const client = createJsonClient({
    baseUrl: options.baseUrl,
    serviceToken: options.serviceToken,
    service: 'search-service',
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  return {
    search: (request) => client.post('/v1/search', request, internalSearchResponseSchema),
  };
}
