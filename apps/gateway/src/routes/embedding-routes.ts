import { AppError } from '@rag/contracts/app-error';
import {
  openAiEmbeddingsRequestSchema,
  openAiEmbeddingsResponseSchema,
} from '@rag/contracts/openai-embeddings';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import type { EmbeddingModels, ServedModel } from '@rag/service-clients/embedding-models';
import { Router } from 'express';
import { mountRoute } from '../mount-route.js';

/**
 * OpenAI's embeddings and models API over the served models, so OpenAI clients (and LangChain's
 * OpenAIEmbeddings) work with the gateway as their base URL and an API key or JWT as their key. The embedding
 * service does the work; the gateway authenticates, limits, picks the model's service and passes the answer on.
 */
export function embeddingRoutes(deps: { models: EmbeddingModels }): Router {
  const router = Router();

  mountRoute(router, 'get', '/v1/models', async (_req, res) => {
    const models = await deps.models.list();
    res.json({ object: 'list', data: models.map(describeModel) });
  });

  mountRoute(router, 'post', '/v1/embeddings', requireJson, async (req, res) => {
    const request = parseInput(openAiEmbeddingsRequestSchema, req.body);
    const model = await deps.models.get(request.model);
    if (request.dimensions !== undefined && request.dimensions !== model.info.dim) {
      throw new AppError(
        'validation_failed',
        `dimensions: the model ${model.info.name} gives ${model.info.dim} dimensions only, not ${request.dimensions}; leave dimensions out or send ${model.info.dim}`,
        { context: { issues: [{ path: 'dimensions', message: 'not available for this model' }] } },
      );
    }
    const answer = await model.json.post('/v1/embeddings', request, openAiEmbeddingsResponseSchema, {
      idempotent: true,
    });
    res.json(answer);
  });

  return router;
}

// A fixed creation time: the models API has one, and a deployment's start time would change on every restart.
const created = 0;

function describeModel(model: ServedModel) {
  const { info } = model;
  return {
    id: info.name,
    object: 'model' as const,
    created,
    owned_by: 'rag-system',
    dimensions: info.dim,
    max_input_tokens: info.maxLength,
    outputs: (['dense', 'sparse', 'colbert'] as const).filter((output) => info.outputs[output]),
    ...(info.manifestHash === undefined ? {} : { manifest_hash: info.manifestHash }),
    default: model.isDefault,
  };
}
