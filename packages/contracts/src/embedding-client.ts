import {
  type EmbedRequest,
  type EmbedResponse,
  embedResponseSchema,
  type ModelInfo,
  modelInfoSchema,
} from './embedding-api.js';
import { createJsonClient } from './json-client.js';

export interface EmbeddingClient {
  embed(request: EmbedRequest): Promise<EmbedResponse>;
  modelInfo(): Promise<ModelInfo>;
}

export function createEmbeddingClient(baseUrl: string, timeoutMs = 60_000): EmbeddingClient {
  const client = createJsonClient({ baseUrl, service: 'embedding-service', timeoutMs });
  return {
    embed: (request) => client.post('/v1/embed', request, embedResponseSchema),
    modelInfo: () => client.get('/v1/model', modelInfoSchema),
  };
}
