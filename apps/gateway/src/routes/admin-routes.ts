import { generateApiKey } from '@rag/auth/api-key';
import { isGrantWithin, requireGrantWithin } from '@rag/auth/grant-scope';
import { requireTenantAdmin } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { tenantIdSchema, uuidSchema } from '@rag/contracts/identifiers';
import { type ApiKeyInfo, createApiKeySchema, createTenantSchema } from '@rag/contracts/public-api';
import {
  type ApiKeyRecord,
  findApiKey,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
} from '@rag/db/api-key-repository';
import type { Pool } from '@rag/db/pool';
import { findTenant, insertTenant } from '@rag/db/tenant-repository';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { audit } from '../audit.js';
import { mountRoute, pathParam } from '../mount-route.js';
import type { RequestCache } from '../request-cache.js';

export function adminRoutes(deps: { pool: Pool; apiKeyPepper: string; cache: RequestCache }): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/tenants', requireJson, async (req, res, principal) => {
    const body = parseInput(createTenantSchema, req.body);
    if (!(await insertTenant(deps.pool, body.id, body.name ?? body.id))) {
      throw new AppError('conflict', `Tenant "${body.id}" already exists`);
    }
    await audit(deps.pool, req, principal, 'tenant.create', { tenantId: body.id, target: body.id });
    res.status(201).json({ id: body.id, name: body.name ?? body.id });
  });

  mountRoute(router, 'post', '/v1/api-keys', requireJson, async (req, res, principal) => {
    const body = parseInput(createApiKeySchema, req.body);
    requireTenantAdmin(principal, body.tenant);
    if (!(await findTenant(deps.pool, body.tenant)))
      throw new AppError('not_found', `Tenant "${body.tenant}" not found`);
    const expiresAt = body.expires_at === undefined ? null : new Date(body.expires_at);
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new AppError('validation_failed', 'expires_at must be in the future');
    }
    requireGrantWithin(principal, {
      role: body.role,
      collections: body.collections ?? null,
      principals: body.principals ?? null,
      expiresAt,
    });
    const generated = generateApiKey(deps.apiKeyPepper);
    const record = await insertApiKey(deps.pool, {
      tenantId: body.tenant,
      name: body.name ?? null,
      prefix: generated.prefix,
      hash: generated.hash,
      role: body.role,
      collections: body.collections ?? null,
      principals: body.principals ?? null,
      expiresAt,
    });
    await audit(deps.pool, req, principal, 'api_key.create', {
      tenantId: record.tenantId,
      target: record.id,
      details: { role: record.role, prefix: record.prefix },
    });
    // The only time the key is shown: we keep its hash alone.
    res.status(201).json({ ...keyInfo(record), key: generated.key });
  });

  mountRoute(router, 'get', '/v1/api-keys', async (req, res, principal) => {
    const requested = typeof req.query.tenant === 'string' ? req.query.tenant : principal.tenantId;
    if (!tenantIdSchema.safeParse(requested).success)
      throw new AppError('validation_failed', 'Invalid tenant');
    requireTenantAdmin(principal, requested);
    const keys = await listApiKeys(deps.pool, requested);
    res.json({ keys: keys.filter((key) => isGrantWithin(principal, key)).map(keyInfo) });
  });

  mountRoute(router, 'delete', '/v1/api-keys/{id}', async (req, res, principal) => {
    const id = pathParam(req, 'id');
    const notFound = new AppError('not_found', `API key ${id} not found`);
    if (!uuidSchema.safeParse(id).success) throw notFound;
    const key = await findApiKey(deps.pool, id);
    // Another tenant's key, or one granting more than the caller holds, reads as missing.
    if (!key || (!principal.system && key.tenantId !== principal.tenantId)) throw notFound;
    if (!isGrantWithin(principal, key)) throw notFound;
    const revoked = (await revokeApiKey(deps.pool, id))!;
    // Before answering: from then on no gateway replica accepts the key, cached or not.
    await deps.cache.invalidate();
    await audit(deps.pool, req, principal, 'api_key.revoke', { tenantId: key.tenantId, target: id });
    res.json(keyInfo(revoked));
  });

  return router;
}

function keyInfo(record: ApiKeyRecord): ApiKeyInfo {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    tenant: record.tenantId,
    role: record.role,
    collections: record.collections,
    principals: record.principals,
    expires_at: record.expiresAt?.toISOString() ?? null,
    created_at: record.createdAt.toISOString(),
    last_used_at: record.lastUsedAt?.toISOString() ?? null,
    revoked_at: record.revokedAt?.toISOString() ?? null,
  };
}
