import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

/**
 * The `rag` command line as a user runs it: the built CLI as a process, against the four services on the
 * real PostgreSQL, Redis, Milvus Lite and ONNX Runtime (with the generated test model).
 */

const cliPath = join(findRepoRoot(), 'packages', 'cli', 'dist', 'cli.js');
const sharedDocs = join(findRepoRoot(), '..', 'shared', 'data', 'docs');

let stack: Stack;
let modelDir: string;
let folder: string;
let gatewayUrl: string;
let acmeAdmin: string;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function rag(args: string[], key: string = acmeAdmin): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      // Not a terminal: the CLI prints plain progress lines, which keeps its output readable here.
      { env: { ...process.env, RAG_URL: gatewayUrl, RAG_API_KEY: key }, timeout: 100_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run pnpm build first`);
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  folder = await mkdtemp(join(tmpdir(), 'rag-cli-corpus-'));
  await mkdir(join(folder, 'kitchen'));
  await mkdir(join(folder, 'home'));
  await writeFile(
    join(folder, 'travel.md'),
    '# Travel policy\n\nBook flights and hotels through the corporate travel tool at least fourteen days before departure.\n',
  );
  await writeFile(
    join(folder, 'kitchen', 'sourdough.txt'),
    'Feed the sourdough starter with flour and water the evening before baking the bread.\n',
  );
  await writeFile(
    join(folder, 'home', 'vacuum.md'),
    'Vacuum care\n===========\n\nEmpty the dust bin after every cleaning run and rinse the washable filter with cold water.\n',
  );
  await writeFile(join(folder, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]));
  // Real files of the kinds people keep in such folders.
  await copyFile(join(sharedDocs, 'pdf', 'en_markitdown_test.pdf'), join(folder, 'autogen.pdf'));
  await copyFile(
    join(sharedDocs, 'docx', 'en_docling_word_tables.docx'),
    join(folder, 'home', 'tables.docx'),
  );

  stack = await startStack({ modelDir, gatewayEnv: { INGEST_BACKOFF_MS: '200' } });
  gatewayUrl = stack.services.at(-1)!.url;
  expect((await stack.call('POST', '/v1/tenants', { body: { id: 'acme' } })).status).toBe(201);
  const admin = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'acme', role: 'admin' } });
  expect(admin.status).toBe(201);
  acmeAdmin = admin.body.key;
});

afterAll(async () => {
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
  await rm(folder, { recursive: true, force: true });
});

describe('rag collections', () => {
  it('creates a collection and lists it', async () => {
    const created = await rag(['collections', 'create', 'handbook']);
    expect(created).toMatchObject({ code: 0, stdout: 'created collection handbook\n' });
    const list = await rag(['collections', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^handbook\t\d{4}-\d\d-\d\dT/);
  });

  it('prints the problem and its request id for a failed call, with exit code 1', async () => {
    const duplicate = await rag(['collections', 'create', 'handbook']);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/^error \(409 conflict\): Collection "handbook" already exists\n/);
    expect(duplicate.stderr).toMatch(/^request id: \S+$/m);
  });
});

describe('rag ingest', () => {
  it('uploads every file the server reads (PDF and DOCX too), skips the image, and waits until all are ready', async () => {
    const run = await rag(['ingest', folder, '--collection', 'handbook', '--wait']);
    expect(run.stderr).toContain('skipped logo.png: unsupported file type: PNG image');
    expect(run.stdout).toBe('6 files: 5 queued, 0 unchanged, 1 skipped\n5 ready, 0 failed\n');
    expect(run.code).toBe(0);
  });

  it('changes nothing when run again on the same folder, and a changed file becomes the next version', async () => {
    const again = await rag(['ingest', folder, '--collection', 'handbook', '--wait']);
    expect(again.stdout).toBe('6 files: 0 queued, 5 unchanged, 1 skipped\n5 ready, 0 failed\n');
    expect(again.code).toBe(0);
    const { rows } = await stack.db.query(
      // The title the API shows: the caller's, else the file's own (source_title), else its name.
      'SELECT external_id, coalesce(title, source_title) AS title, version, media_type FROM documents ORDER BY 1',
    );
    // Titles come from the files themselves (the first Markdown heading, Word's title), else the file name.
    expect(rows).toEqual([
      {
        external_id: 'autogen.pdf',
        title: expect.stringMatching(/\S/),
        version: 1,
        media_type: 'application/pdf',
      },
      {
        external_id: 'home/tables.docx',
        title: expect.stringMatching(/\S/),
        version: 1,
        media_type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      },
      { external_id: 'home/vacuum.md', title: 'Vacuum care', version: 1, media_type: 'text/markdown' },
      { external_id: 'kitchen/sourdough.txt', title: 'sourdough.txt', version: 1, media_type: 'text/plain' },
      { external_id: 'travel.md', title: 'Travel policy', version: 1, media_type: 'text/markdown' },
    ]);

    await writeFile(
      join(folder, 'kitchen', 'sourdough.txt'),
      'Feed the sourdough starter with rye flour and water the evening before baking the bread.\n',
    );
    const changed = await rag(['ingest', folder, '--collection', 'handbook', '--wait']);
    expect(changed.stdout).toBe('6 files: 1 queued, 4 unchanged, 1 skipped\n5 ready, 0 failed\n');
    const { rows: versions } = await stack.db.query(
      "SELECT version FROM documents WHERE external_id = 'kitchen/sourdough.txt'",
    );
    expect(versions).toEqual([{ version: 2 }]);
  });
});

describe('rag search and rag doc', () => {
  let sourdoughId: string;

  it('ranks the matching file first', async () => {
    const json = await rag(['search', 'sourdough starter flour', '--collection', 'handbook', '--json']);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as {
      results: Array<{ external_id: string; document_id: string }>;
    };
    expect(answer.results[0]?.external_id).toBe('kitchen/sourdough.txt');
    sourdoughId = answer.results[0]!.document_id;

    const text = await rag(['search', 'book flights and hotels', '--collection', 'handbook', '--top-k', '2']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    // The file went in as Markdown: its heading is the chunk's heading path.
    expect(lines[0]).toMatch(/^1\. \d+\.\d{4} {2}travel\.md {2}Travel policy {2}\(Travel policy\)$/);
    expect(lines[1]).toContain('Book flights and hotels');
    expect(lines.filter((line) => /^\d\. /.test(line))).toHaveLength(2);
  });

  it("prints a document's status as JSON", async () => {
    const run = await rag(['doc', sourdoughId]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      id: sourdoughId,
      external_id: 'kitchen/sourdough.txt',
      status: 'ready',
      chunks: 1,
    });
  });

  it('deletes a document', async () => {
    const run = await rag(['doc', 'delete', sourdoughId]);
    expect(run).toMatchObject({ code: 0, stdout: `deleting document ${sourdoughId}\n` });
    await stack.waitForStatus(sourdoughId, acmeAdmin, ['gone']);
    const missing = await rag(['doc', sourdoughId]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(404 not_found)');
  });

  it('answers a usage error with exit code 2', async () => {
    const run = await rag(['search', 'anything', '--collection', 'handbook', '--top-k', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--top-k');
  });
});

describe('rag keys', () => {
  // Listing and revoking keys are new gateway routes: test them where this gateway serves them.
  async function keyRoutesServed(): Promise<boolean> {
    const { status } = await stack.call('GET', '/v1/api-keys?tenant=acme');
    return status !== 404 && status !== 405;
  }

  it('creates a key, lists it, and revokes it so that it no longer works', async (context) => {
    if (!(await keyRoutesServed())) context.skip();
    const created = await rag([
      'keys',
      'create',
      '--tenant',
      'acme',
      '--role',
      'reader',
      '--collections',
      'handbook',
      '--name',
      'cli-test',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; prefix: string };
    expect(key.key).toMatch(/^rag_/);

    const plain = await rag(['keys', 'create', '--tenant', 'acme', '--role', 'reader']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^rag_\S+\n$/);

    const list = await rag(['keys', 'list', '--tenant', 'acme']);
    expect(list.code).toBe(0);
    const row = list.stdout.split('\n').find((line) => line.startsWith(key.id));
    expect(row).toMatch(
      new RegExp(`^${key.id}\\s+${key.prefix}\\s+acme\\s+reader\\s+handbook\\s+-\\s+-\\s+cli-test$`),
    );

    expect((await rag(['collections', 'list'], key.key)).code).toBe(0);
    const revoked = await rag(['keys', 'revoke', key.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked key ${key.id} at \\d{4}-`));
    expect((await stack.call('GET', '/v1/collections', { key: key.key })).status).toBe(401);
    const refused = await rag(['collections', 'list'], key.key);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \(401 /);
  });
});
