// The stack's PostgreSQL schema (documents, chunk text and token ids, versions, API keys, audit log: the source
// of truth) dumped with pg_dump in its custom format and restored in one transaction.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { OpsError } from './stack-data-dir.mjs';

/** The rows a backup counts, so a restore can prove it brought back every one. */
const countedTables = ['tenants', 'api_keys', 'collections', 'documents', 'chunks', 'audit_log', 'webhooks'];

function checkSchemaName(schema) {
  // The stack's schemas are plain lower-case names; anything else would need quoting rules in three tools.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new OpsError(`unexpected schema name ${schema}`);
}

async function connectTo(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'rag-backup' });
  try {
    await client.connect();
  } catch (error) {
    throw new OpsError(`PostgreSQL at ${redact(databaseUrl)} is not reachable: ${error.message}`);
  }
  return client;
}

/** A connection string fit for messages: the password left out. */
export function redact(databaseUrl) {
  return databaseUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Dumps `schema` to `file` and counts its rows in the same snapshot as the dump, so the counts describe
 * exactly the rows in the file while the stack keeps writing.
 */
export async function dumpSchema({ databaseUrl, schema, file }) {
  checkSchemaName(schema);
  const client = await connectTo(databaseUrl);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query('SELECT pg_export_snapshot() AS id')).rows[0].id;
    if ((await tableCount(client, schema)) === 0) {
      throw new OpsError(`schema ${schema} holds no tables: nothing to back up (has the stack started?)`);
    }
    const counts = await countRows(client, schema);
    const serverVersion = (await client.query('SHOW server_version')).rows[0].server_version;
    await run('pg_dump', [
      `--dbname=${databaseUrl}`,
      `--snapshot=${snapshot}`,
      '--format=custom',
      `--schema="${schema}"`,
      // Restorable by whoever runs the restore, on any cluster.
      '--no-owner',
      '--no-privileges',
      `--file=${file}`,
    ]);
    await client.query('COMMIT');
    return { serverVersion, counts };
  } finally {
    await client.end();
  }
}

/**
 * Replaces `schema` by the dump's: the old schema is dropped and the dump loaded in one transaction, so a
 * restore that fails leaves PostgreSQL as it found it. Returns the restored rows' counts.
 */
export async function restoreSchema({ databaseUrl, schema, file }) {
  checkSchemaName(schema);
  // pg_restore writes the dump as SQL and psql runs it after the DROP in one transaction, committed only
  // once pg_restore has written the whole dump: a dump cut short rolls back with psql's session.
  const restore = spawn('pg_restore', ['--no-owner', '--no-privileges', '--file=-', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const psql = spawn('psql', ['--no-psqlrc', '--quiet', '-v', 'ON_ERROR_STOP=1', `--dbname=${databaseUrl}`], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  // psql may stop reading early (ON_ERROR_STOP); its exit status says why, not the broken pipe.
  psql.stdin.on('error', () => {});
  psql.stdin.write(`BEGIN;\nDROP SCHEMA IF EXISTS "${schema}" CASCADE;\n`);
  restore.stdout.pipe(psql.stdin, { end: false });
  const loading = finished(psql);
  const restored = await finished(restore);
  if (restored.code === 0) psql.stdin.write('COMMIT;\n');
  psql.stdin.end();
  const loaded = await loading;
  if (restored.code !== 0) throw new OpsError(`pg_restore failed: ${restored.stderr.trim()}`);
  if (loaded.code !== 0)
    throw new OpsError(`loading the dump into PostgreSQL failed: ${loaded.stderr.trim()}`);
  const client = await connectTo(databaseUrl);
  try {
    return await countRows(client, schema);
  } finally {
    await client.end();
  }
}

/** Tables in `schema` (0 when it does not exist). */
export async function schemaTables({ databaseUrl, schema }) {
  checkSchemaName(schema);
  const client = await connectTo(databaseUrl);
  try {
    return await tableCount(client, schema);
  } finally {
    await client.end();
  }
}

async function tableCount(client, schema) {
  const { rows } = await client.query(
    "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
    [schema],
  );
  return rows[0].n;
}

async function countRows(client, schema) {
  const counts = {};
  for (const table of countedTables) {
    counts[table] = Number((await client.query(`SELECT count(*) AS n FROM "${schema}".${table}`)).rows[0].n);
  }
  const byStatus = await client.query(
    `SELECT status, count(*) AS n FROM "${schema}".documents GROUP BY status ORDER BY status`,
  );
  counts.documents_by_status = Object.fromEntries(byStatus.rows.map((row) => [row.status, Number(row.n)]));
  counts.schema_migration = Number(
    (await client.query(`SELECT coalesce(max(version), 0) AS v FROM "${schema}".schema_migrations`)).rows[0]
      .v,
  );
  return counts;
}

async function run(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const { code, stderr } = await finished(child);
  if (code !== 0) throw new OpsError(`${command} failed: ${stderr.trim() || `exit code ${code}`}`);
}

function finished(child) {
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise((done) => {
    child.once('error', (error) => done({ code: -1, stderr: `${error.message}` }));
    child.once('close', (code) => done({ code, stderr }));
  });
}
