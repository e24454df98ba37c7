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
  {
    version: 3,
    name: 'document versions, stored sources, chunk places, webhooks',
    sql: `
      -- The version searchers see. It changes in the same transaction that swaps the chunks, so a search
      -- sees the old version or the new one, never both and never neither.
      ALTER TABLE documents ADD COLUMN ready_version integer;
      UPDATE documents SET ready_version = version WHERE status = 'ready';
      -- The latest version's file in object storage (null for text sent inline) and what it is.
      ALTER TABLE documents ADD COLUMN source_key text;
      ALTER TABLE documents ADD COLUMN media_type text;
      ALTER TABLE documents ADD COLUMN filename text;
      ALTER TABLE documents ADD COLUMN page_count integer;

      ALTER TABLE chunks ADD COLUMN page integer;
      ALTER TABLE chunks ADD COLUMN heading_path text[] NOT NULL DEFAULT '{}';
      CREATE INDEX chunks_collection_idx ON chunks (collection_id);

      -- Completion webhooks; the secret signs each delivery (HMAC-SHA256), so it is kept as given.
      CREATE TABLE webhooks (
        tenant_id text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        url text NOT NULL,
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 4,
    name: 'BM25 term statistics per collection, kept by triggers on chunks; index version per collection',
    sql: `
      -- The chunk's token ids (model tokenizer, no special tokens): BM25 document length and terms.
      ALTER TABLE chunks ADD COLUMN token_ids integer[];

      -- How many chunks of the collection contain each token id (BM25 document frequency).
      CREATE TABLE collection_term_stats (
        collection_id uuid NOT NULL,
        token_id integer NOT NULL,
        chunk_frequency integer NOT NULL,
        PRIMARY KEY (collection_id, token_id)
      );

      -- Chunk count and total length (chunks with token ids only) for IDF and the average length, and a
      -- version bumped by every write that can change search results (the result cache's key).
      CREATE TABLE collection_index_stats (
        collection_id uuid PRIMARY KEY,
        chunk_count bigint NOT NULL DEFAULT 0,
        total_tokens bigint NOT NULL DEFAULT 0,
        index_version bigint NOT NULL DEFAULT 0
      );

      -- Statement-level triggers over transition tables: the statistics change in the same transaction as
      -- the chunks (replace, delete, cascade from documents and collections), once per statement rather than
      -- per row. The collection's stats row is always updated first, which serialises concurrent writers of a
      -- collection on that row, so the term rows are never locked in conflicting orders.
      CREATE FUNCTION chunks_stats_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO collection_index_stats AS s (collection_id, chunk_count, total_tokens, index_version)
        SELECT collection_id, count(token_ids), coalesce(sum(cardinality(token_ids)), 0), 1
          FROM new_chunks GROUP BY collection_id ORDER BY collection_id
        ON CONFLICT (collection_id) DO UPDATE
          SET chunk_count = s.chunk_count + EXCLUDED.chunk_count,
              total_tokens = s.total_tokens + EXCLUDED.total_tokens,
              index_version = s.index_version + 1;
        INSERT INTO collection_term_stats AS s (collection_id, token_id, chunk_frequency)
        SELECT n.collection_id, t.token_id, count(*)
          FROM new_chunks n CROSS JOIN LATERAL (SELECT DISTINCT unnest(n.token_ids) AS token_id) t
         GROUP BY n.collection_id, t.token_id ORDER BY n.collection_id, t.token_id
        ON CONFLICT (collection_id, token_id) DO UPDATE
          SET chunk_frequency = s.chunk_frequency + EXCLUDED.chunk_frequency;
        RETURN NULL;
      END $$;

      -- Deletes only decrement what exists: when a whole collection goes, its rows may already be gone.
      CREATE FUNCTION chunks_stats_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE collection_index_stats s
           SET chunk_count = s.chunk_count - o.chunks, total_tokens = s.total_tokens - o.tokens,
               index_version = s.index_version + 1
          FROM (SELECT collection_id, count(token_ids) AS chunks,
                       coalesce(sum(cardinality(token_ids)), 0) AS tokens
                  FROM old_chunks GROUP BY collection_id) o
         WHERE s.collection_id = o.collection_id;
        UPDATE collection_term_stats s SET chunk_frequency = s.chunk_frequency - o.chunks
          FROM (SELECT c.collection_id, t.token_id, count(*) AS chunks
                  FROM old_chunks c CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.token_ids) AS token_id) t
                 GROUP BY c.collection_id, t.token_id) o
         WHERE s.collection_id = o.collection_id AND s.token_id = o.token_id;
        DELETE FROM collection_term_stats s
         USING (SELECT DISTINCT c.collection_id, unnest(c.token_ids) AS token_id FROM old_chunks c) o
         WHERE s.collection_id = o.collection_id AND s.token_id = o.token_id AND s.chunk_frequency <= 0;
        RETURN NULL;
      END $$;

      CREATE TRIGGER chunks_stats_insert AFTER INSERT ON chunks
        REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_after_insert();
      CREATE TRIGGER chunks_stats_delete AFTER DELETE ON chunks
        REFERENCING OLD TABLE AS old_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_stats_after_delete();

      -- A document's status, ACL, metadata or title decide whether and how its chunks are found, so any
      -- change to them is a new index version of its collection too.
      CREATE FUNCTION documents_bump_index_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO collection_index_stats AS s (collection_id, index_version)
        SELECT DISTINCT n.collection_id, 1
          FROM new_documents n JOIN old_documents o ON o.id = n.id
         WHERE (n.status, n.acl, n.metadata, n.title, n.version)
               IS DISTINCT FROM (o.status, o.acl, o.metadata, o.title, o.version)
         ORDER BY n.collection_id
        ON CONFLICT (collection_id) DO UPDATE SET index_version = s.index_version + 1;
        RETURN NULL;
      END $$;
      CREATE TRIGGER documents_index_version AFTER UPDATE ON documents
        REFERENCING OLD TABLE AS old_documents NEW TABLE AS new_documents
        FOR EACH STATEMENT EXECUTE FUNCTION documents_bump_index_version();

      CREATE FUNCTION collections_drop_stats() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM collection_term_stats WHERE collection_id IN (SELECT id FROM old_collections);
        DELETE FROM collection_index_stats WHERE collection_id IN (SELECT id FROM old_collections);
        RETURN NULL;
      END $$;
      CREATE TRIGGER collections_stats_delete AFTER DELETE ON collections
        REFERENCING OLD TABLE AS old_collections FOR EACH STATEMENT EXECUTE FUNCTION collections_drop_stats();
    `,
  },
  {
    version: 5,
    name: 'the title a stored file carries',
    sql: `
      -- The title of the latest version's file (its own metadata, else its file name), set when it is
      -- extracted; shown wherever the caller gave no title. Kept apart from title, which is the caller's.
      ALTER TABLE documents ADD COLUMN source_title text;
    `,
  },
  {
    version: 6,
    name: "a collection's documents, newest first",
    sql: `
      -- Listing pages walk this index from a keyset, so a page costs the same however large the collection.
      CREATE INDEX documents_collection_created_idx ON documents (collection_id, created_at DESC, id DESC);
    `,
  },
  {
    version: 7,
    name: "a collection's embedding model",
    sql: `
      -- The model a collection was created on (its name and its manifest's sha256), which ingest and search
      -- use for it. NULL: created without naming one (and every collection made before models had names),
      -- so it follows the stack's default model, as all collections did then.
      ALTER TABLE collections ADD COLUMN embedding_model text, ADD COLUMN embedding_manifest_hash text;
      ALTER TABLE collections ADD CONSTRAINT collections_model_named_with_hash
        CHECK ((embedding_model IS NULL) = (embedding_manifest_hash IS NULL));
    `,
  },
  {
    version: 8,
    name: 'collection reindexes (moving a collection to another embedding model)',
    sql: `
      -- One row per move of a collection to another model (POST /v1/collections/{name}/reindex). At most one
      -- runs per collection; the row keeps the progress (a worker that died resumes after the last document
      -- done) and, after the switch, when the old model's vectors of the collection are to be dropped.
      CREATE TABLE collection_reindexes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
        tenant_id text NOT NULL,
        from_model text,
        from_manifest_hash text,
        to_model text NOT NULL,
        to_manifest_hash text NOT NULL,
        state text NOT NULL CHECK (state IN ('running', 'switched', 'cancelled', 'failed')),
        documents_total integer NOT NULL DEFAULT 0,
        documents_done integer NOT NULL DEFAULT 0,
        chunks_done integer NOT NULL DEFAULT 0,
        after_document uuid,
        error text,
        started_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        drop_old_after timestamptz,
        old_dropped_at timestamptz
      );
      CREATE UNIQUE INDEX collection_reindexes_one_running ON collection_reindexes (collection_id)
        WHERE state = 'running';
      CREATE INDEX collection_reindexes_by_collection ON collection_reindexes (collection_id, started_at DESC);
    `,
  },
  {
    version: 9,
    name: 'chunks cut again for the model a collection moves to',
    sql: `
      -- A document whose chunks are longer than the new model's input is cut again for it while the old model
      -- keeps serving the old chunks. The new chunks wait here, with the document version and change stamp they
      -- were cut from, and replace the document's rows in chunks in the transaction that switches the model.
      CREATE TABLE reindex_chunks (
        reindex_id uuid NOT NULL REFERENCES collection_reindexes (id) ON DELETE CASCADE,
        document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        document_version integer NOT NULL,
        document_stamp text NOT NULL,
        id uuid NOT NULL,
        ordinal integer NOT NULL,
        text text NOT NULL,
        start_offset integer NOT NULL,
        end_offset integer NOT NULL,
        page integer,
        heading_path text[] NOT NULL DEFAULT '{}',
        token_ids integer[],
        PRIMARY KEY (reindex_id, id)
      );
      CREATE INDEX reindex_chunks_by_document ON reindex_chunks (reindex_id, document_id);
    `,
  },
  {
    version: 10,
    name: "a document version's swap in one statement",
    sql: `
      -- The swap of swapDocumentVersion (document-version.ts) as one call, so it is one round trip and one
      -- transaction of its own instead of BEGIN, four statements and COMMIT: the document's row locked, checked
      -- (gone, being deleted, superseded), its chunks replaced by the version's (the statistics triggers fire
      -- as they did for the separate statements) and ready_version moved. Chunk columns come as arrays, one
      -- element per chunk; token ids as array literals, since arrays of different lengths cannot share one.
      CREATE FUNCTION swap_document_version(
        p_document_id uuid, p_tenant_id text, p_collection_id uuid, p_version integer,
        p_ids uuid[], p_ordinals integer[], p_texts text[], p_start_offsets integer[], p_end_offsets integer[],
        p_token_ids text[], p_pages integer[], p_heading_paths jsonb[]
      ) RETURNS TABLE (outcome text, previous_version integer, acl text[], metadata jsonb, removed_ids uuid[])
      LANGUAGE plpgsql AS $$
      DECLARE
        locked documents%ROWTYPE;
        removed uuid[];
      BEGIN
        SELECT * INTO locked FROM documents d WHERE d.id = p_document_id FOR UPDATE;
        IF NOT FOUND THEN
          RETURN QUERY SELECT 'gone', NULL::integer, NULL::text[], NULL::jsonb, NULL::uuid[];
          RETURN;
        END IF;
        IF locked.status = 'deleting' THEN
          RETURN QUERY SELECT 'deleting', NULL::integer, NULL::text[], NULL::jsonb, NULL::uuid[];
          RETURN;
        END IF;
        IF locked.version <> p_version THEN
          RETURN QUERY SELECT 'superseded', NULL::integer, NULL::text[], NULL::jsonb, NULL::uuid[];
          RETURN;
        END IF;
        WITH gone AS (DELETE FROM chunks c WHERE c.document_id = p_document_id RETURNING c.id)
        SELECT coalesce(array_agg(gone.id), '{}') INTO removed FROM gone;
        IF cardinality(p_ids) > 0 THEN
          INSERT INTO chunks (document_id, tenant_id, collection_id, document_version, id, ordinal, text,
                              start_offset, end_offset, token_ids, page, heading_path)
          SELECT p_document_id, p_tenant_id, p_collection_id, p_version, c.id, c.ordinal, c.text, c.start_offset,
                 c.end_offset, c.token_ids::int[], c.page, ARRAY(SELECT jsonb_array_elements_text(c.heading_path))
            FROM unnest(p_ids, p_ordinals, p_texts, p_start_offsets, p_end_offsets, p_token_ids, p_pages,
                        p_heading_paths)
                 AS c(id, ordinal, text, start_offset, end_offset, token_ids, page, heading_path);
        END IF;
        UPDATE documents d
           SET ready_version = p_version, status = 'ready', error = NULL, chunk_count = cardinality(p_ids),
               updated_at = now()
         WHERE d.id = p_document_id;
        RETURN QUERY SELECT 'swapped', locked.ready_version, locked.acl, locked.metadata, removed;
      END $$;
    `,
  },
];
