import {
  type EmbedRequest,
  type EmbedResponse,
  embedResponseSchema,
  type ModelInfo,
  modelInfoSchema,
  type TokenizeResponse,
  tokenizeResponseSchema,
} from '@rag/contracts/embedding-api';
import { createServiceClient, type ServiceEndpoint } from './json-client.js';

export interface EmbeddingClient {
  embed(request: EmbedRequest): Promise<EmbedResponse>;
  modelInfo(): Promise<ModelInfo>;
  /** Token ids (and optionally UTF-16 offsets) of whole texts, without any kind prefix. */
  tokenize(request: TokenizeRequest): Promise<TokenizeResponse>;
}

export interface TokenizeRequest {
  inputs: string[];
  /** Default true. */
  addSpecialTokens?: boolean;
  /** Default false. */
  offsets?: boolean;
  /** Default false: every token of the text, however long. */
  truncate?: boolean;
}

export function createEmbeddingClient(options: ServiceEndpoint): EmbeddingClient {
  const client = createServiceClient(options, 'embedding-service', 60_000);
  return {
    // Embedding and tokenizing change nothing: a call whose connection was reset may go again.
    embed: ({ texts, ...rest }) =>
      client.post('/v1/embed', { inputs: texts, ...rest }, embedResponseSchema, { idempotent: true }),
    modelInfo: () => client.get('/v1/model', modelInfoSchema),
    tokenize: ({ inputs, addSpecialTokens, offsets, truncate }) =>
      client.post(
        '/v1/tokenize',
        { inputs, add_special_tokens: addSpecialTokens, offsets, truncate },
        tokenizeResponseSchema,
        { idempotent: true },
      ),
  };
}
