import { z } from 'zod';
import { defined, serviceUrlSchema } from './common-schemas.js';
import type { Env } from './secret.js';

/**
 * Where the embedding models are served: one embedding-service deployment per model. EMBEDDING_SERVICE_URL is
 * the default model's (what collections that name no model get); EMBEDDING_SERVICE_URLS lists the services of
 * further models, comma-separated. Each service names its model itself (GET /v1/model).
 */
export const embeddingServicesSchema = z.object({
  defaultUrl: serviceUrlSchema.default('http://127.0.0.1:8081'),
  otherUrls: z
    .string()
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(z.array(serviceUrlSchema)),
});

export type EmbeddingServicesConfig = z.infer<typeof embeddingServicesSchema>;

export function embeddingServicesFromEnv(env: Env) {
  return defined({ defaultUrl: env.EMBEDDING_SERVICE_URL, otherUrls: env.EMBEDDING_SERVICE_URLS });
}

export const embeddingServicesEnvNames: Record<string, string> = {
  'embeddingServices.defaultUrl': 'EMBEDDING_SERVICE_URL',
  'embeddingServices.otherUrls': 'EMBEDDING_SERVICE_URLS',
};
