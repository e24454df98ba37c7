import type { Queryable } from './pool.js';

export interface Webhook {
  tenantId: string;
  url: string;
  secret: string;
  updatedAt: Date;
}

/** Sets (or replaces) the tenant's completion webhook. */
export async function upsertWebhook(
  db: Queryable,
  tenantId: string,
  url: string,
  secret: string,
): Promise<Webhook> {
  const { rows } = await db.query<{ tenant_id: string; url: string; secret: string; updated_at: Date }>(
    `INSERT INTO webhooks (tenant_id, url, secret) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, updated_at = now()
     RETURNING tenant_id, url, secret, updated_at`,
    [tenantId, url, secret],
  );
  const row = rows[0]!;
  return { tenantId: row.tenant_id, url: row.url, secret: row.secret, updatedAt: row.updated_at };
}

export async function findWebhook(db: Queryable, tenantId: string): Promise<Webhook | undefined> {
  const { rows } = await db.query<{ tenant_id: string; url: string; secret: string; updated_at: Date }>(
    'SELECT tenant_id, url, secret, updated_at FROM webhooks WHERE tenant_id = $1',
    [tenantId],
  );
  const row = rows[0];
  return row && { tenantId: row.tenant_id, url: row.url, secret: row.secret, updatedAt: row.updated_at };
}

export async function deleteWebhook(db: Queryable, tenantId: string): Promise<Webhook | undefined> {
  const { rows } = await db.query<{ tenant_id: string; url: string; secret: string; updated_at: Date }>(
    'DELETE FROM webhooks WHERE tenant_id = $1 RETURNING tenant_id, url, secret, updated_at',
    [tenantId],
  );
  const row = rows[0];
  return row && { tenantId: row.tenant_id, url: row.url, secret: row.secret, updatedAt: row.updated_at };
}
