import type { Queryable } from './pool.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: Date;
}

/** Creates the tenant, or returns false when it already exists. */
export async function insertTenant(db: Queryable, id: string, name: string): Promise<boolean> {
  const result = await db.query(
    'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
    [id, name],
  );
  return result.rowCount === 1;
}

export async function findTenant(db: Queryable, id: string): Promise<Tenant | undefined> {
  const { rows } = await db.query<{ id: string; name: string; created_at: Date }>(
    'SELECT id, name, created_at FROM tenants WHERE id = $1',
    [id],
  );
  const row = rows[0];
  return row && { id: row.id, name: row.name, createdAt: row.created_at };
}
