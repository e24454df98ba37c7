import { embeddingServiceUrlSetting, otherEmbeddingServiceUrlsSetting } from './base-settings.js';
import type { Env } from './secret.js';
import { group, readSettings } from './settings.js';

/**
 * Where the embedding models are served: one embedding-service deployment per model. EMBEDDING_SERVICE_URL is
 * the default model's (what collections that name no model get); EMBEDDING_SERVICE_URLS lists the services of
 * further models, comma-separated. Each service names its model itself (GET /v1/model).
 */
export const embeddingServicesSettings = group({
  defaultUrl: embeddingServiceUrlSetting,
  otherUrls: otherEmbeddingServiceUrlsSetting,
});

export const embeddingServicesSchema = embeddingServicesSettings.schema;

export type EmbeddingServicesConfig = ReturnType<typeof embeddingServicesSchema.parse>;

export function embeddingServicesFromEnv(env: Env) {
  return readSettings(embeddingServicesSettings.fields, env);
}
