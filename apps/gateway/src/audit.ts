import type { Principal } from '@rag/auth/principal';
import { appendAudit } from '@rag/db/audit-log-repository';
import type { Queryable } from '@rag/db/pool';
import type { Request } from 'express';

/** Records an administrative action of the caller, with the request id that ties it to the logs. */
export function audit(
  db: Queryable,
  req: Request,
  principal: Principal,
  action: string,
  target: { tenantId: string; target: string | null; details?: Record<string, unknown> },
): Promise<void> {
  return appendAudit(db, {
    tenantId: target.tenantId,
    actor: principal.subject ?? (principal.keyId ? `key:${principal.keyId}` : 'unknown'),
    action,
    target: target.target,
    requestId: req.id,
    details: target.details ?? {},
  });
}
