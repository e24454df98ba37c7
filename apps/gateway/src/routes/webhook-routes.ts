import { randomUUID } from 'node:crypto';
import type { Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { setWebhookSchema } from '@rag/contracts/public-api';
import type { Pool } from '@rag/db/pool';
import { deleteWebhook, findWebhook, upsertWebhook } from '@rag/db/webhook-repository';
import { requireJson } from '@rag/http/service-app';
import { parseInput } from '@rag/http/validate';
import { postSignedEvent } from '@rag/ingest-contract/webhook-post';
import type { WebhookSecretCipher } from '@rag/ingest-contract/webhook-secret-cipher';
import {
  redactWebhookUrl,
  resolveWebhookTarget,
  type WebhookTargetPolicy,
} from '@rag/ingest-contract/webhook-target';
import { Router } from 'express';
import { audit } from '../audit.js';
import { mountRoute } from '../mount-route.js';

export interface WebhookRouteDeps {
  pool: Pool;
  /** Where webhooks may point; the worker checks the same policy again before each delivery. */
  targets: WebhookTargetPolicy;
  /** Seals the signing secret before it is stored. */
  cipher: WebhookSecretCipher;
}

/** The caller's tenant's completion webhook. The secret is write-only: it never comes back. */
export function webhookRoutes(deps: WebhookRouteDeps): Router {
  const router = Router();

  mountRoute(router, 'post', '/v1/webhook', requireJson, async (req, res, principal) => {
    requireTenantWideView(principal);
    const body = parseInput(setWebhookSchema, req.body);
    // Refused here already (422) so the tenant learns at once; the worker checks again at delivery.
    const target = await resolveWebhookTarget(body.url, deps.targets);
    // The parsed form: percent-encoded, so characters PostgreSQL cannot store (NUL) never reach it.
    const url = target.url.href;
    const webhook = await upsertWebhook(
      deps.pool,
      principal.tenantId,
      url,
      deps.cipher.seal(principal.tenantId, body.secret),
    );
    if (!webhook) throw new AppError('not_found', `Tenant ${principal.tenantId} not found`);
    await audit(deps.pool, req, principal, 'webhook.set', {
      tenantId: principal.tenantId,
      target: null,
      details: { url: redactWebhookUrl(url) },
    });
    res.status(200).json({ url: webhook.url, updated_at: webhook.updatedAt.toISOString() });
  });

  mountRoute(router, 'get', '/v1/webhook', async (_req, res, principal) => {
    const webhook = await findWebhook(deps.pool, principal.tenantId);
    if (!webhook) throw new AppError('not_found', `Tenant ${principal.tenantId} has no webhook`);
    res.json({ url: webhook.url, updated_at: webhook.updatedAt.toISOString() });
  });

  mountRoute(router, 'delete', '/v1/webhook', async (req, res, principal) => {
    requireTenantWideView(principal);
    const removed = await deleteWebhook(deps.pool, principal.tenantId);
    if (!removed) throw new AppError('not_found', `Tenant ${principal.tenantId} has no webhook`);
    await audit(deps.pool, req, principal, 'webhook.delete', {
      tenantId: principal.tenantId,
      target: null,
      details: { url: redactWebhookUrl(removed.url) },
    });
    res.json({ url: removed.url, updated_at: removed.updatedAt.toISOString() });
  });

  mountRoute(router, 'post', '/v1/webhook/test', async (req, res, principal) => {
    requireTenantWideView(principal);
    const webhook = await findWebhook(deps.pool, principal.tenantId);
    if (!webhook) throw new AppError('not_found', `Tenant ${principal.tenantId} has no webhook`);
    // Checked again as the worker does before each delivery: the name may resolve elsewhere by now.
    const target = await resolveWebhookTarget(webhook.url, deps.targets);
    const event = {
      v: 1,
      id: `test-${randomUUID()}`,
      type: 'webhook.test',
      at: new Date().toISOString(),
      tenantId: principal.tenantId,
    };
    const secret = deps.cipher.open(principal.tenantId, webhook.secret);
    let status: number | null = null;
    let detail: string;
    try {
      status = await postSignedEvent(target, secret, event, testTimeoutMs);
      detail = `The receiver answered ${status}`;
    } catch (error) {
      detail = `The receiver could not be reached: ${(error as Error).message}`;
    }
    await audit(deps.pool, req, principal, 'webhook.test', {
      tenantId: principal.tenantId,
      target: null,
      details: { url: redactWebhookUrl(webhook.url), status },
    });
    res.json({
      url: webhook.url,
      event_id: event.id,
      delivered: status !== null && status >= 200 && status < 300,
      status,
      detail,
    });
  });

  return router;
}

/** How long a test delivery may take: the caller is waiting for the answer. */
const testTimeoutMs = 10_000;

/**
 * The webhook receives the events of every document of the tenant: only a credential that may see every
 * document (no collection scope, no ACL principals) may point it somewhere, or it would learn of documents
 * it cannot read.
 */
function requireTenantWideView(principal: Principal): void {
  if (principal.collections !== null || principal.principals !== null) {
    throw new AppError(
      'forbidden',
      "The tenant's webhook receives events of every document; only a credential without collection scope or ACL principals may set or delete it",
    );
  }
}
