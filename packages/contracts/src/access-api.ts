import { z } from 'zod';
import { collectionNameSchema, roles, tenantIdSchema } from './identifiers.js';

/** Public API shapes of tenants, API keys, the calling credential and ACL principals. */

export const createTenantSchema = z.strictObject({
  id: tenantIdSchema,
  name: z.string().min(1).max(200).optional(),
});

/**
 * An ACL principal such as "user:alice", "user:auth0|abc" or "group:R&D team": an opaque string, matched
 * exactly. Only NUL is refused, which PostgreSQL text cannot hold.
 */
export const aclPrincipalSchema = z
  .string()
  .min(1)
  .max(256)
  // A pattern rather than a refinement, so that the OpenAPI description declares it too.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this pattern refuses
  .regex(/^[^\u0000]*$/, 'must not contain the NUL character');

export const createApiKeySchema = z.strictObject({
  tenant: tenantIdSchema,
  role: z.enum(roles),
  collections: z.array(collectionNameSchema).min(1).max(100).optional(),
  /** ACL principals the key acts as; without them the key sees every document of its tenant. */
  principals: z.array(aclPrincipalSchema).min(1).max(100).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  name: z.string().min(1).max(200).optional(),
});

export const tenantSchema = z.object({ id: z.string(), name: z.string() });

export const apiKeyInfoSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  prefix: z.string(),
  tenant: z.string(),
  role: z.enum(roles),
  collections: z.array(z.string()).nullable(),
  principals: z.array(z.string()).nullable(),
  expires_at: z.string().nullable(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof apiKeyInfoSchema>;

export const createdApiKeySchema = apiKeyInfoSchema.extend({
  key: z.string().describe('The API key; shown only in this response'),
});

/** What the calling credential is: its tenant, role and limits, so a client can show only what it allows. */
export const credentialSchema = z.object({
  tenant: z.string(),
  role: z.enum(roles),
  /** The bootstrap admin credential from config, which manages every tenant. */
  bootstrap: z.boolean(),
  /** Collections it is limited to; null for every collection of the tenant. */
  collections: z.array(z.string()).nullable(),
  /** ACL principals it acts as; null when it sees every document of the tenant. */
  principals: z.array(z.string()).nullable(),
  /** The API key's id; null for a JWT and the bootstrap admin. */
  key_id: z.string().nullable(),
  /** Who the gateway logs and audits the caller as (a JWT's subject, `key:<id>` for an API key). */
  subject: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export const apiKeyListSchema = z.object({ keys: z.array(apiKeyInfoSchema) });
