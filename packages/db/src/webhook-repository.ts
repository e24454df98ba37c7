import type { Queryable } from './pool.js';

export interface Webhook {
  tenantId: string;
  url: string;
  /** The signing secret as stored: sealed by the caller (see webhook-secret-cipher), never the secret itself. */
  secret: string;
  updatedAt: Date;
}

interface WebhookRow {
  tenant_id: string;
  url: string;
  secret: string;
  updated_at: Date;
}

const columns = 'tenant_id, url, secret, updated_at';

function toWebhook(row: WebhookRow): Webhook {
  return { tenantId: row.tenant_id, url: row.url, secret: row.secret, updatedAt: row.updated_at };
}

/**
 * Sets (or replaces) the tenant's completion webhook in one statement, so concurrent sets and deletes
 * serialize on the row. Undefined when the tenant does not exist (a JWT may name a tenant never created).
 */
export async function upsertWebhook(
  db: Queryable,
  tenantId: string,
  url: string,
  secret: string,
): Promise<Webhook | undefined> {
  const { rows } = await db.query<WebhookRow>(
    `INSERT INTO webhooks (tenant_id, url, secret)
     SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = $1)
     ON CONFLICT (tenant_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, updated_at = now()
     RETURNING ${columns}`,
    [tenantId, url, secret],
  );
  return rows[0] && toWebhook(rows[0]);
}

export async function findWebhook(db: Queryable, tenantId: string): Promise<Webhook | undefined> {
  const { rows } = await db.query<WebhookRow>(`SELECT ${columns} FROM webhooks WHERE tenant_id = $1`, [
    tenantId,
  ]);
  return rows[0] && toWebhook(rows[0]);
}

export async function deleteWebhook(db: Queryable, tenantId: string): Promise<Webhook | undefined> {
  const { rows } = await db.query<WebhookRow>(
    `DELETE FROM webhooks WHERE tenant_id = $1 RETURNING ${columns}`,
    [tenantId],
  );
  return rows[0] && toWebhook(rows[0]);
}

/** Every webhook, for sealing stored secrets again after a key rotation. */
export async function listWebhooks(db: Queryable): Promise<Webhook[]> {
  const { rows } = await db.query<WebhookRow>(`SELECT ${columns} FROM webhooks ORDER BY tenant_id`);
  return rows.map(toWebhook);
}

/**
 * Replaces the stored secret only if it is still `expected`, so a webhook set meanwhile is not overwritten
 * with the re-sealed old secret. True when replaced.
 */
export async function replaceWebhookSecret(
  db: Queryable,
  tenantId: string,
  expected: string,
  next: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE webhooks SET secret = $3 WHERE tenant_id = $1 AND secret = $2',
    [tenantId, expected, next],
  );
  return rowCount === 1;
}
