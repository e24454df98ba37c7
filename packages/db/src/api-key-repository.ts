import type { Role } from '@rag/contracts/identifiers';
import type { Queryable } from './pool.js';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string | null;
  prefix: string;
  role: Role;
  collections: string[] | null;
  createdAt: Date;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string | null;
  prefix: string;
  role: Role;
  collections: string[] | null;
  created_at: Date;
}

const columns = 'id, tenant_id, name, prefix, role, collections, created_at';

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    collections: row.collections,
    createdAt: row.created_at,
  };
}

export async function insertApiKey(
  db: Queryable,
  key: {
    tenantId: string;
    name: string | null;
    prefix: string;
    hash: string;
    role: Role;
    collections: string[] | null;
  },
): Promise<ApiKeyRecord> {
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, role, collections)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
    [key.tenantId, key.name, key.prefix, key.hash, key.role, key.collections],
  );
  return toRecord(rows[0]!);
}

/** Finds an active key by its hash and stamps its last use. */
export async function findActiveApiKeyByHash(db: Queryable, hash: string): Promise<ApiKeyRecord | undefined> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET last_used_at = now()
     WHERE key_hash = $1 AND revoked_at IS NULL
     RETURNING ${columns}`,
    [hash],
  );
  return rows[0] && toRecord(rows[0]);
}
