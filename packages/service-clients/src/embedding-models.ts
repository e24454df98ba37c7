import { AppError } from '@rag/contracts/app-error';
import type { ModelInfo } from '@rag/contracts/embedding-api';
import { createEmbeddingClient, type EmbeddingClient } from './embedding-client.js';
import { createServiceClient, type JsonClient } from './json-client.js';

/**
 * The routing table of embedding models: one embedding-service deployment per model, each found by its base URL
 * and named by what it reports at /v1/model, so a model's name is written in one place (its manifest) and a URL
 * cannot be paired with the wrong name.
 */
export interface ServedModel {
  info: ModelInfo;
  /** Base URL of the embedding service that serves the model. */
  url: string;
  /** Its service's client; `modelInfo()` answers from the table (read again after `refreshMs`). */
  client: EmbeddingClient;
  /** For calls EmbeddingClient does not wrap, such as the OpenAI API the gateway passes on. */
  json: JsonClient;
  /** The stack's default model (EMBEDDING_SERVICE_URL's): what a collection that names none gets. */
  isDefault: boolean;
}

export interface EmbeddingModels {
  /** The models of every service that answers; 503 when none does. */
  list(): Promise<ServedModel[]>;
  /** The model of that name: 404 when every service answered and none serves it, else 503. */
  get(name: string): Promise<ServedModel>;
  /** The default model; 503 while its service does not answer. */
  default(): Promise<ServedModel>;
  /** The default model's client, to hold before its model is known; `modelInfo()` reads the table. */
  defaultClient: EmbeddingClient;
  /** Asks the default model's service for its model now (readiness), refreshing the table; throws when down. */
  check(): Promise<void>;
}

export interface EmbeddingModelsOptions {
  /** The default model's service. */
  defaultUrl: string;
  /** One service per further model. */
  otherUrls?: readonly string[];
  serviceToken: string;
  timeoutMs?: number;
  /**
   * How long a service's answer to /v1/model is reused (default 30 s).
   */
  refreshMs?: number;
  /**
   * A name not found asks the services again if their answers are older than this (default 1 s), so a model
   * deployed a moment ago is found without waiting for the refresh, and unknown names cannot flood the services.
   */
  recheckMs?: number;
}

interface Route {
  url: string;
  /** The service's own client: the one request for /v1/model the table makes. */
  service: EmbeddingClient;
  client: EmbeddingClient;
  json: JsonClient;
  isDefault: boolean;
  known?: { info: ModelInfo; at: number };
  pending?: Promise<ModelInfo> | undefined;
}

export function createEmbeddingModels(options: EmbeddingModelsOptions): EmbeddingModels {
  const refreshMs = options.refreshMs ?? 30_000;
  const urls = [options.defaultUrl, ...(options.otherUrls ?? []).filter((url) => url !== options.defaultUrl)];
  const routes: Route[] = [...new Set(urls)].map((url, index) => {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const connection = { baseUrl: url, serviceToken: options.serviceToken, timeoutMs };
    const service = createEmbeddingClient(connection);
    const route: Route = {
      url,
      isDefault: index === 0,
      service,
      // The model's info has one loader, this table's: a client asks it rather than the service each time.
      client: { ...service, modelInfo: () => describe(route) },
      json: createServiceClient(connection, 'embedding-service', timeoutMs),
    };
    return route;
  });

  function describe(route: Route, maxAgeMs = refreshMs): Promise<ModelInfo> {
    if (route.known && performance.now() - route.known.at < maxAgeMs)
      return Promise.resolve(route.known.info);
    route.pending ??= route.service
      .modelInfo()
      .then((info) => {
        route.known = { info, at: performance.now() };
        return info;
      })
      .finally(() => {
        route.pending = undefined;
      });
    return route.pending;
  }

  const served = (route: Route, info: ModelInfo): ServedModel => ({
    info,
    url: route.url,
    client: route.client,
    json: route.json,
    isDefault: route.isDefault,
  });

  async function survey(maxAgeMs = refreshMs): Promise<{ models: ServedModel[]; failures: unknown[] }> {
    const answers = await Promise.allSettled(routes.map((route) => describe(route, maxAgeMs)));
    const models: ServedModel[] = [];
    const failures: unknown[] = [];
    answers.forEach((answer, index) => {
      if (answer.status === 'fulfilled') models.push(served(routes[index]!, answer.value));
      else failures.push(answer.reason);
    });
    return { models, failures };
  }

  return {
    async list() {
      const { models, failures } = await survey();
      if (models.length === 0) throw failures[0];
      return models;
    },
    async get(name) {
      const cached = routes.find((route) => route.known?.info.name === name);
      if (cached?.known && performance.now() - cached.known.at < refreshMs)
        return served(cached, cached.known.info);
      const { models, failures } = await survey(Math.min(refreshMs, options.recheckMs ?? 1000));
      const found = models.find((model) => model.info.name === name);
      if (found) return found;
      if (failures.length > 0) {
        throw new AppError(
          'dependency_unavailable',
          `model ${name} was not found, and ${failures.length} of the ${routes.length} embedding services did not answer`,
          { retryable: true, cause: failures[0] },
        );
      }
      throw new AppError(
        'not_found',
        `The model ${name} does not exist; served models: ${models.map((model) => model.info.name).join(', ')}`,
        { context: { model: name } },
      );
    },
    async default() {
      return served(routes[0]!, await describe(routes[0]!));
    },
    defaultClient: routes[0]!.client,
    async check() {
      await describe(routes[0]!, 0);
    },
  };
}
