/**
 * Schema migrations, applied in order and recorded in schema_migrations. Append new ones; never edit an
 * applied migration.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'tenants, keys, collections, documents, chunks',
    sql: `
      CREATE TABLE tenants (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name text,
        prefix text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('admin', 'editor', 'reader')),
        collections text[],
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      );

      CREATE TABLE collections (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name text NOT NULL,
        deleting boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, name)
      );

      CREATE TABLE documents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
        external_id text,
        title text,
        content_hash text NOT NULL,
        version integer NOT NULL DEFAULT 1,
        status text NOT NULL CHECK (status IN ('queued', 'processing', 'ready', 'failed', 'deleting')),
        error text,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        acl text[],
        chunk_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX documents_external_id_key ON documents (collection_id, external_id)
        WHERE external_id IS NOT NULL;
      CREATE INDEX documents_tenant_collection_idx ON documents (tenant_id, collection_id);

      CREATE TABLE chunks (
        id uuid PRIMARY KEY,
        document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        tenant_id text NOT NULL,
        collection_id uuid NOT NULL,
        document_version integer NOT NULL,
        ordinal integer NOT NULL,
        text text NOT NULL,
        start_offset integer NOT NULL,
        end_offset integer NOT NULL,
        UNIQUE (document_id, document_version, ordinal)
      );
    `,
  },
  {
    version: 2,
    name: 'key expiry and principals, audit log',
    sql: `
      ALTER TABLE api_keys ADD COLUMN principals text[];
      ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
      CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        tenant_id text NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target text,
        request_id text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb
      );
      CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at DESC);
    `,
  },
];
