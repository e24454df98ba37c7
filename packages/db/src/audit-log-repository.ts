import type { Queryable } from './pool.js';

export interface AuditEntry {
  tenantId: string;
  /** Who did it: "bootstrap-admin", "key:<id>" or a JWT subject. */
  actor: string;
  /** What was done, e.g. "api_key.create". */
  action: string;
  target: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

/** Administrative actions are recorded in PostgreSQL, next to the data they change. */
export async function appendAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (tenant_id, actor, action, target, request_id, details)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [entry.tenantId, entry.actor, entry.action, entry.target, entry.requestId, JSON.stringify(entry.details)],
  );
}

export async function listAudit(
  db: Queryable,
  tenantId: string,
  limit = 100,
): Promise<Array<AuditEntry & { at: Date }>> {
  const { rows } = await db.query<{
    at: Date;
    tenant_id: string;
    actor: string;
    action: string;
    target: string | null;
    request_id: string | null;
    details: Record<string, unknown>;
  }>(
    `SELECT at, tenant_id, actor, action, target, request_id, details
       FROM audit_log WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map((r) => ({
    at: r.at,
    tenantId: r.tenant_id,
    actor: r.actor,
    action: r.action,
    target: r.target,
    requestId: r.request_id,
    details: r.details,
  }));
}
