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

export function createEmbeddingClient(options: {
  baseUrl: string;
  serviceToken: string;
  timeoutMs?: number;
}): EmbeddingClient {
  const client = createJsonClient({
    baseUrl: options.baseUrl,
    serviceToken: options.serviceToken,
    service: 'embedding-service',
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return {
    embed: (request) => client.post('/v1/embed', request, embedResponseSchema),
    modelInfo: () => client.get('/v1/model', modelInfoSchema),
  };
}
