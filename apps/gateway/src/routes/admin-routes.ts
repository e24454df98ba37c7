import { generateApiKey } from '@rag/auth/api-key';
import { requireSystem, requireTenantAdmin } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { createApiKeySchema, createTenantSchema } from '@rag/contracts/public-api';
import { insertApiKey } from '@rag/db/api-key-repository';
import type { Pool } from '@rag/db/pool';
import { findTenant, insertTenant } from '@rag/db/tenant-repository';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { principalOf } from '../principal-middleware.js';

export function adminRoutes(deps: { pool: Pool; apiKeyPepper: string }): Router {
  const router = Router();

  router.post('/v1/tenants', requireJson, async (req, res) => {
    requireSystem(principalOf(req));
    const body = parseInput(createTenantSchema, req.body);
    if (!(await insertTenant(deps.pool, body.id, body.name ?? body.id))) {
      throw new AppError('conflict', `Tenant "${body.id}" already exists`);
    }
    res.status(201).json({ id: body.id, name: body.name ?? body.id });
  });

  router.post('/v1/api-keys', requireJson, async (req, res) => {
    const body = parseInput(createApiKeySchema, req.body);
    requireTenantAdmin(principalOf(req), body.tenant);
    if (!(await findTenant(deps.pool, body.tenant)))
      throw new AppError('not_found', `Tenant "${body.tenant}" not found`);
    const generated = generateApiKey(deps.apiKeyPepper);
    const record = await insertApiKey(deps.pool, {
      tenantId: body.tenant,
      name: body.name ?? null,
      prefix: generated.prefix,
      hash: generated.hash,
      role: body.role,
      collections: body.collections ?? null,
    });
    // The only time the key is shown: we keep its hash alone.
    res.status(201).json({
      id: record.id,
      key: generated.key,
      prefix: record.prefix,
      tenant: record.tenantId,
      role: record.role,
      collections: record.collections,
      created_at: record.createdAt.toISOString(),
    });
  });

  return router;
}
