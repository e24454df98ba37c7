import type { Role } from '@rag/contracts/identifiers';
import type { Queryable } from './pool.js';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string | null;
  prefix: string;
  role: Role;
  collections: string[] | null;
  principals: string[] | null;
  expiresAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string | null;
  prefix: string;
  role: Role;
  collections: string[] | null;
  principals: string[] | null;
  expires_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const columns =
  'id, tenant_id, name, prefix, role, collections, principals, expires_at, created_at, last_used_at, revoked_at';

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    collections: row.collections,
    principals: row.principals,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export interface NewApiKey {
  tenantId: string;
  name: string | null;
  prefix: string;
  hash: string;
  role: Role;
  collections: string[] | null;
  principals: string[] | null;
  expiresAt: Date | null;
}

export async function insertApiKey(db: Queryable, key: NewApiKey): Promise<ApiKeyRecord> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, role, collections, principals, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${columns}`,
    [key.tenantId, key.name, key.prefix, key.hash, key.role, key.collections, key.principals, key.expiresAt],
  );
  return toRecord(rows[0]!);
}

/**
 * Finds a usable key by its hash and stamps its last use. Revoked and expired keys are not found, so a
 * revocation takes effect on the very next request: nothing caches keys.
 */
export async function findActiveApiKeyByHash(db: Queryable, hash: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET last_used_at = now()
     WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
     RETURNING ${columns}`,
    [hash],
  );
  return rows[0] && toRecord(rows[0]);
}

export async function listApiKeys(db: Queryable, tenantId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${columns} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map(toRecord);
}

export async function findApiKey(db: Queryable, id: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${columns} FROM api_keys WHERE id = $1`, [id]);
  return rows[0] && toRecord(rows[0]);
}

/** Revokes the key (idempotent: a second revocation keeps the first time). */
export async function revokeApiKey(db: Queryable, id: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${columns}`,
    [id],
  );
  return rows[0] && toRecord(rows[0]);
}
