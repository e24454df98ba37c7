import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPptx, buildXlsx } from '@rag/documents/document-fixtures.test-support';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's quick start, run as a new user runs it: a fresh clone of this repository's HEAD, the commands of
 * the README's "Quick start" and "Your own documents" blocks exactly as written (only the folder name is ours),
 * then real files through the public API, a restart that keeps everything, and Ctrl-C. The stack is the one
 * `pnpm start` brings up on the machine's PostgreSQL and Redis, on its fixed ports.
 */

const repoRoot = findRepoRoot();
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const sharedDocs = join(repoRoot, '..', 'shared', 'data', 'docs');
/** The README's placeholder for the user's folder in "Your own documents". */
const readmeFolder = '~/Documents/manuals';
const firstStartMs = 25 * 60_000;

/** The command lines of the first ```sh block after a heading, continuation lines joined, comments dropped. */
function readmeCommands(heading: string): string[] {
  const section = readme.slice(readme.indexOf(`${heading}\n`));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`README has no sh block under "${heading}"`);
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The first fenced block of `language` after a heading, as printed. */
function readmeBlock(heading: string, language: string): string {
  const section = readme.slice(readme.indexOf(`${heading}\n`));
  const block = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section)?.[1];
  if (!block) throw new Error(`README has no ${language} block under "${heading}"`);
  return block;
}

/** Runs the Python of the client's virtual environment (where `pip install` of the README put the client). */
function runPython(python: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(python, args, { cwd, env: userEnv, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

// The environment of a user's shell: nothing the test runner set for itself.
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(VITEST|NODE_ENV$|TEST$|TINYPOOL)/.test(name)),
);

interface RunningStack {
  process: ChildProcess;
  output(): string;
}

let clone: string;
let files: string;
let stack: RunningStack | undefined;
let adminKey: string;
let printedCurl: string;
const gateway = 'http://127.0.0.1:8080';

/** Runs `command` as a shell would, in the clone, and waits until the stack says it is up. */
async function startStack(command: string): Promise<RunningStack> {
  const child = spawn('bash', ['-c', command], {
    cwd: clone,
    env: userEnv,
    // Its own process group, as a terminal gives it: Ctrl-C reaches every process in it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const running = { process: child, output: () => output };
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('✓ rag-system is up')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${command} exited with ${child.exitCode}:\n${output.slice(-4000)}`));
      }
    }, 500);
  });
  return running;
}

/** Ctrl-C in the terminal: SIGINT to the whole foreground process group. */
async function pressCtrlC(running: RunningStack): Promise<void> {
  const exited = new Promise((resolve) => running.process.once('exit', resolve));
  process.kill(-running.process.pid!, 'SIGINT');
  await Promise.race([
    exited,
    new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`still running 60 s after Ctrl-C:\n${running.output().slice(-3000)}`)),
        60_000,
      ),
    ),
  ]);
}

/** Processes that run from the clone or name it: what Ctrl-C must not leave behind. */
function processesOfClone(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cwd.startsWith(clone) || args.includes(clone)) found.push(`${pid}: ${args.trim()} (in ${cwd})`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

async function waitForNoProcesses(): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  let left = processesOfClone();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    left = processesOfClone();
  }
  return left;
}

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${gateway}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & { id: string },
  };
}

/** `curl -F`, as the README's Ingestion section uploads a file. */
function curlUpload(
  collection: string,
  path: string,
  externalId: string,
): Promise<{ status: number; id: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      [
        '-s',
        '-w',
        '\n%{http_code}',
        '-H',
        `Authorization: Bearer ${adminKey}`,
        `${gateway}/v1/collections/${collection}/documents`,
        '-F',
        `file=@${path}`,
        '-F',
        `document=${JSON.stringify({ external_id: externalId })}`,
      ],
      (error, stdout) => {
        if (error) return reject(error);
        const [body = '', status = ''] = stdout.split(/\n(?=\d+$)/);
        resolve({ status: Number(status), id: JSON.parse(body).id });
      },
    );
  });
}

async function waitReady(id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { body } = await api('GET', `/v1/documents/${id}`);
    if (body.status === 'ready' || body.status === 'failed' || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function searchIds(collection: string, query: string): Promise<string[]> {
  const { status, body } = await api('POST', '/v1/search', { collection, query, top_k: 10 });
  expect(status, JSON.stringify(body)).toBe(200);
  return (body.results as Array<{ document_id: string }>).map((result) => result.document_id);
}

/** Files a user has, each with a phrase of its own text. */
const uploads: Array<{ file: string; phrase: string; title?: string }> = [
  { file: 'pdf/en_markitdown_test.pdf', phrase: 'how can we facilitate the development of LLM applications' },
  {
    file: 'pdf/en_arxiv_2305.03393v1-pg9.pdf',
    phrase: 'We have chosen the PubTabNet data set to perform HPO',
  },
  {
    file: 'docx/en_markitdown_test.docx',
    phrase: 'AutoGen is an open-source framework that allows developers to build LLM applications',
    title: 'AutoGen: Enabling Next-Gen LLM Applications via Multi-Agent Conversation',
  },
  { file: 'docx/en_docling_word_tables.docx', phrase: 'Merged Cell 1.1 1.2' },
  {
    file: 'html/en_wikipedia_duck.html',
    phrase: 'Duck is the common name for numerous species of waterfowl in the family Anatidae.',
    title: 'Duck - Wikipedia',
  },
  { file: 'md/ja_nihonkoku-kenpo.md', phrase: '天皇は、日本国の象徴であり日本国民統合の象徴であつて' },
  // Made here: the shared documents have no spreadsheet, slide deck or legacy-encoded CSV.
  { file: 'made/inventory.xlsx', phrase: 'Titanium hinge bracket reorder level' },
  { file: 'made/roadmap.pptx', phrase: 'Migrate the billing ledger to the new region' },
  { file: 'made/prices-sjis.csv', phrase: '北海道産じゃがいも' },
];
const accepted = new Map<string, string>();

beforeAll(async () => {
  const parent = await mkdtemp(join(tmpdir(), 'rag-quick-start-'));
  clone = join(parent, 'rag-system');
  files = join(parent, 'files');
  // A fresh clone of what is committed: what a user gets (and, in CI, exactly the submitted main).
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone]);
  await mkdir(join(files, 'made'), { recursive: true });
  for (const { file } of uploads.filter((u) => !u.file.startsWith('made/'))) {
    await mkdir(join(files, file, '..'), { recursive: true });
    await copyFile(join(sharedDocs, file), join(files, file));
  }
  await writeFile(
    join(files, 'made', 'inventory.xlsx'),
    buildXlsx([
      { name: 'Overview', rows: [['Warehouse stock report, week 12']] },
      {
        name: 'Parts',
        rows: [
          ['part', 'note'],
          ['HB-7', 'Titanium hinge bracket reorder level is forty units'],
        ],
      },
    ]),
  );
  await writeFile(
    join(files, 'made', 'roadmap.pptx'),
    buildPptx([
      { title: 'Roadmap', body: ['Quarterly plan for the platform team'] },
      { title: 'Q3', body: ['Migrate the billing ledger to the new region before the audit'] },
    ]),
  );
  await writeFile(
    join(files, 'made', 'prices-sjis.csv'),
    iconv.encode('品名,産地,価格\n北海道産じゃがいも,北海道,320\n静岡産緑茶,静岡,980\n', 'Shift_JIS'),
  );
}, 120_000);

afterAll(async () => {
  if (stack && stack.process.exitCode === null) await pressCtrlC(stack).catch(() => {});
  if (clone) {
    // The stack's PostgreSQL schema and Redis keys carry its id; leave the shared servers as they were.
    const stackId = await readFile(join(clone, '.data', 'stack-id'), 'utf8').catch(() => '');
    if (/^[0-9a-f]{8}\s*$/.test(stackId)) {
      const schemas = execFileSync('psql', [
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-Atc',
        `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'local_${stackId.trim()}%'`,
      ])
        .toString()
        .split('\n')
        .filter(Boolean);
      for (const schema of schemas)
        execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP SCHEMA "${schema}" CASCADE`]);
      execFileSync('bash', [
        '-c',
        `redis-cli -h 127.0.0.1 --scan --pattern 'rag_${stackId.trim()}*' | xargs -r redis-cli -h 127.0.0.1 del > /dev/null`,
      ]);
    }
    await rm(join(clone, '..'), { recursive: true, force: true });
  }
}, 120_000);

describe('the quick start, as the README says', () => {
  it(
    'comes up from a fresh clone and prints a search command that works',
    async () => {
      const commands = readmeCommands('## Quick start');
      expect(commands).toContain('pnpm start');
      for (const command of commands.filter((c) => c !== 'pnpm start'))
        execFileSync('bash', ['-c', command], { cwd: clone, env: userEnv, stdio: 'ignore' });
      stack = await startStack('pnpm start');
      const output = stack.output();
      adminKey = /Admin API key: (\S+)/.exec(output)?.[1] ?? '';
      expect(adminKey).not.toBe('');
      const curl = /^\s+(curl -s [\s\S]*?)\n\n/m.exec(output)?.[1];
      expect(curl, output.slice(-3000)).toBeDefined();
      printedCurl = curl!;
      const answer = JSON.parse(execFileSync('bash', ['-c', printedCurl]).toString());
      expect(answer.results[0].external_id).toBe('vacuum-maintenance');
    },
    firstStartMs,
  );

  it('takes JSON and every kind of file a user has, each ready and found by a phrase of its own', async () => {
    expect((await api('POST', '/v1/collections', { name: 'files' })).status).toBe(201);
    const json = await api('POST', '/v1/collections/files/documents', {
      external_id: 'json-note',
      title: 'Parking note',
      text: 'Visitors park on level minus two, bays forty to fifty, and register their plate at reception.',
    });
    expect(json.status).toBe(202);
    accepted.set('json-note', json.body.id);
    for (const { file } of uploads) {
      const upload = await curlUpload('files', join(files, file), file);
      expect(upload.status, file).toBe(202);
      accepted.set(file, upload.id);
    }
    for (const [name, id] of accepted) {
      const document = await waitReady(id);
      expect({ name, status: document.status, error: document.error }).toEqual({
        name,
        status: 'ready',
        error: undefined,
      });
    }
    expect(await searchIds('files', 'where do visitors park')).toContain(accepted.get('json-note'));
    for (const { file, phrase, title } of uploads) {
      const { body } = await api('POST', '/v1/search', { collection: 'files', query: phrase, top_k: 10 });
      const hit = (body.results as Array<{ document_id: string; title: string | null }>).find(
        (result) => result.document_id === accepted.get(file),
      );
      expect(hit, `${file} not found by "${phrase}"`).toBeDefined();
      // An upload's title is the file's own where it has one, else its name: never missing.
      if (title) expect(hit!.title, file).toBe(title);
      else expect(hit!.title, file).toMatch(/\S/);
    }
  }, 600_000);

  it("uploads a user's folder with the README's commands", async () => {
    const folder = join(files, 'manuals');
    await mkdir(join(folder, 'kitchen'), { recursive: true });
    await copyFile(join(sharedDocs, 'pdf', 'en_markitdown_test.pdf'), join(folder, 'autogen.pdf'));
    await copyFile(
      join(sharedDocs, 'docx', 'en_docling_lorem_ipsum.docx'),
      join(folder, 'kitchen', 'lorem.docx'),
    );
    await writeFile(
      join(folder, 'vacuum.md'),
      '# Robot vacuum\n\n## Resetting the filter\n\nTo reset the filter, hold the filter button for five seconds until the light blinks.\n',
    );
    await writeFile(
      join(folder, 'notes.txt'),
      'The descaling of the espresso machine is due every two months.\n',
    );
    await writeFile(
      join(folder, 'photo.png'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    );
    // A download that went wrong: named as a PDF, holding neither a PDF nor text.
    await writeFile(join(folder, 'broken.pdf'), Buffer.from([0, 1, 2, ...Buffer.from('garbage')]));

    const script = readmeCommands('### Your own documents')
      .map((line) => line.replaceAll(readmeFolder, folder))
      .join('\n');
    expect(script).toContain(folder);
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-ec', script],
        { cwd: clone, env: userEnv, timeout: 300_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/skipped photo\.png: unsupported file type: PNG image/);
    expect(run.stderr).toMatch(/skipped broken\.pdf: "broken\.pdf" is labelled PDF but is not a PDF/);
    expect(run.stdout).toContain('6 files: 4 queued, 0 unchanged, 2 skipped\n4 ready, 0 failed\n');
    // The search of the README finds the vacuum manual first.
    expect(run.stdout).toMatch(/1\. \S+\s+vacuum\.md\s+Robot vacuum/);
  }, 600_000);

  it("answers agents configured as the README's MCP section says, and its LangChain snippet as printed", async () => {
    const python = join(repoRoot, '.venv', 'python-client', 'bin', 'python');
    // A key that may read mydocs only: the MCP configuration of the README with it in place of <key>.
    const scoped = await api('POST', '/v1/api-keys', {
      tenant: 'default',
      role: 'reader',
      collections: ['mydocs'],
    });
    expect(scoped.status, JSON.stringify(scoped.body)).toBe(201);
    const config = readmeBlock('### MCP for agents', 'json').replaceAll('<key>', String(scoped.body.key));
    const server = (
      JSON.parse(config) as { mcpServers: Record<string, { url: string; headers: Record<string, string> }> }
    ).mcpServers.rag!;
    expect(server.headers).toEqual({ Authorization: `Bearer ${scoped.body.key}` });
    const mcp = JSON.parse(
      await runPython(python, [
        join(repoRoot, 'tests', 'e2e', 'mcp-python-client.py'),
        server.url,
        String(scoped.body.key),
        'mydocs',
        'files',
        'how do I reset the filter',
      ]),
    );
    expect(mcp.found.is_error, mcp.found.text).toBe(false);
    expect(mcp.found.structured.results[0].external_id).toBe('vacuum.md');
    expect(mcp.refused).toEqual({ is_error: true, text: expect.stringContaining('mydocs') });

    // The Python snippet, with the key it leaves to the reader and the file it names, then what it returned.
    const workdir = join(files, 'snippet');
    await mkdir(join(workdir, 'reports'), { recursive: true });
    await copyFile(join(sharedDocs, 'pdf', 'en_markitdown_test.pdf'), join(workdir, 'reports', 'q3.pdf'));
    expect((await api('POST', '/v1/collections', { name: 'handbook' })).status).toBe(201);
    const snippet = readmeBlock('### Python client, LangChain and LlamaIndex', 'python');
    const printed = await runPython(
      python,
      [
        '-c',
        `api_key = ${JSON.stringify(adminKey)}\n${snippet}\n` +
          'import json\nprint(json.dumps([d.metadata for d in documents]))',
      ],
      workdir,
    );
    const metadata = JSON.parse(printed.trim().split('\n').at(-1)!) as Array<Record<string, unknown>>;
    expect(metadata.length).toBeGreaterThan(0);
    expect(metadata[0]).toMatchObject({ external_id: 'reports/q3.pdf', document_id: expect.any(String) });
  }, 300_000);

  it(
    'keeps every document through Ctrl-C and a restart, and Ctrl-C leaves no process behind',
    async () => {
      await pressCtrlC(stack!);
      expect(await waitForNoProcesses()).toEqual([]);

      stack = await startStack('pnpm start');
      for (const [name, id] of accepted) {
        const { body } = await api('GET', `/v1/documents/${id}`);
        expect({ name, status: body.status }).toEqual({ name, status: 'ready' });
      }
      for (const { file, phrase } of uploads.slice(0, 3))
        expect(await searchIds('files', phrase), file).toContain(accepted.get(file));
      const answer = JSON.parse(execFileSync('bash', ['-c', printedCurl]).toString());
      expect(answer.results[0].external_id).toBe('vacuum-maintenance');

      // A service that crashes is started again, with a line saying so, and search works again.
      const searchService = processesOfClone().find(
        (line) => line.includes('dist/main.js') && line.includes('search-service'),
      );
      expect(searchService, processesOfClone().join('\n')).toBeDefined();
      process.kill(Number(searchService!.split(':')[0]), 'SIGKILL');
      const deadline = Date.now() + 120_000;
      while (!stack.output().includes('✓ search-service is running again') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stack.output()).toMatch(/! search-service exited \(killed by a signal\); starting it again/);
      expect(stack.output()).toContain('✓ search-service is running again');
      expect(JSON.parse(execFileSync('bash', ['-c', printedCurl]).toString()).results[0].external_id).toBe(
        'vacuum-maintenance',
      );

      await pressCtrlC(stack);
      expect(await waitForNoProcesses()).toEqual([]);
    },
    firstStartMs,
  );
});
