import {
  type InternalSearchRequest,
  type InternalSearchResponse,
  internalSearchResponseSchema,
} from '@rag/contracts/search-api';
import { z } from 'zod';
import { createServiceClient, type ServiceEndpoint } from './json-client.js';

/** The service's answer and its Server-Timing (its stages), for the gateway to pass on. */
export interface SearchReply {
  answer: InternalSearchResponse;
  serverTiming: string | undefined;
}

export interface SearchClient {
  search(request: InternalSearchRequest): Promise<SearchReply>;
  /** Throws while the search service is unreachable or reports a dependency (Milvus) down. */
  checkHealth(): Promise<void>;
}

const healthSchema = z.object({ status: z.literal('ok') });

export function createSearchClient(options: ServiceEndpoint): SearchClient {
  const client = createServiceClient(options, 'search-service', 30_000);
  return {
    // A search changes nothing, so it may go again when its connection was reset.
    search: async (request) => {
      let serverTiming: string | undefined;
      const answer = await client.post('/v1/search', request, internalSearchResponseSchema, {
        idempotent: true,
        onHeaders: (headers) => {
          const value = headers['server-timing'];
          serverTiming = Array.isArray(value) ? value.join(', ') : value;
        },
      });
      return { answer, serverTiming };
    },
    checkHealth: async () => void (await client.get('/v1/health', healthSchema)),
  };
}
