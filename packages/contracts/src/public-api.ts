import { z } from 'zod';

/**
 * Request and response shapes of the public HTTP API served by the gateway, for its routes, the OpenAPI
 * description and typed clients: one file per resource, all named here.
 */

export * from './access-api.js';
export * from './collection-api.js';
export * from './document-api.js';
export { slugSchema } from './identifiers.js';
export * from './public-search-api.js';
export * from './webhook-api.js';

/** The problem+json body of every refusal and failure. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  code: z.string(),
  request_id: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
