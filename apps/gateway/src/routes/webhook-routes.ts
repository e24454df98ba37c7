import { AppError } from '@rag/contracts/app-error';
import { setWebhookSchema } from '@rag/contracts/public-api';
import type { Pool } from '@rag/db/pool';
import { deleteWebhook, findWebhook, upsertWebhook } from '@rag/db/webhook-repository';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { Router } from 'express';
import { mountRoute } from '../mount-route.js';

/** The caller's tenant's completion webhook. The secret is write-only: it never comes back. */
export function webhookRoutes(deps: { pool: Pool }): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/webhook', requireJson, async (req, res, principal) => {
    const body = parseInput(setWebhookSchema, req.body);
    const webhook = await upsertWebhook(deps.pool, principal.tenantId, body.url, body.secret);
    res.status(200).json({ url: webhook.url, updated_at: webhook.updatedAt.toISOString() });
  });

  mountRoute(router, 'get', '/v1/webhook', async (_req, res, principal) => {
    const webhook = await findWebhook(deps.pool, principal.tenantId);
    if (!webhook) throw new AppError('not_found', `Tenant ${principal.tenantId} has no webhook`);
    res.json({ url: webhook.url, updated_at: webhook.updatedAt.toISOString() });
  });

  mountRoute(router, 'delete', '/v1/webhook', async (_req, res, principal) => {
    const removed = await deleteWebhook(deps.pool, principal.tenantId);
    if (!removed) throw new AppError('not_found', `Tenant ${principal.tenantId} has no webhook`);
    res.json({ url: removed.url, updated_at: removed.updatedAt.toISOString() });
  });

  return router;
}
