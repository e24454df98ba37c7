// Private Redis, PostgreSQL and Milvus Lite for the fault matrix, each on a free port with its data in a
// temporary folder, so that killing or hanging one never touches the machine's shared servers. Each can be
// SIGKILLed and started again on the same port and data (a crashed container coming back), or SIGSTOPped and
// SIGCONTed (a hung one).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { killTree, signalTree } from './process-tree.mjs';

const startTimeoutMs = 60_000;

/** Runs a long-lived server process; output is kept (last 4 KB) for error messages. */
function launch(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (error) => keep(Buffer.from(`spawn failed: ${error.message}\n`)));
  return { child, output: () => tail.trim() || '(no output)' };
}

async function waitFor(what, check, running) {
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(
        `${what} exited (${running.child.exitCode ?? running.child.signalCode}):\n${running.output()}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(`${what} did not start in ${startTimeoutMs} ms:\n${running.output()}`);
    await delay(100);
  }
}

/** Sends a line over TCP and resolves with the first answer (or '' on error or after 1 s). */
function ask(port, line) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(''));
    socket.once('error', () => done(''));
    socket.once('connect', () => line !== null && socket.write(line));
    socket.once('data', (data) => done(data.toString('utf8')));
    if (line === null) socket.once('connect', () => done('connected'));
  });
}

/**
 * A process-controlled dependency: start() (again) on the same port and data, crash() = SIGKILL of its whole
 * process tree, hang() and resume() = SIGSTOP and SIGCONT, shutdown() = a clean stop at the end.
 */
function controlled(name, startOnce, cleanStop) {
  let running;
  return {
    name,
    get pid() {
      return running?.child.pid;
    },
    async start() {
      running = await startOnce();
    },
    async crash() {
      await killTree(running.child.pid);
    },
    hang() {
      signalTree(running.child.pid, 'SIGSTOP');
    },
    resume() {
      signalTree(running.child.pid, 'SIGCONT');
    },
    async shutdown() {
      if (!running) return;
      const { child } = running;
      signalTree(child.pid, 'SIGCONT');
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      cleanStop(child);
      const timer = setTimeout(() => killTree(child.pid).catch(() => {}), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * redis-server without RDB snapshots but with an append-only file (as compose runs it), so a killed Redis
 * comes back with the queue it had; noeviction, as BullMQ requires.
 */
export async function startRedis(port, dir) {
  const redis = controlled(
    'redis',
    async () => {
      const running = launch('redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--maxmemory-policy',
        'noeviction',
      ]);
      await waitFor('redis-server', async () => (await ask(port, 'PING\r\n')).startsWith('+PONG'), running);
      return running;
    },
    (child) => child.kill('SIGTERM'),
  );
  await redis.start();
  return Object.assign(redis, { url: `redis://127.0.0.1:${port}` });
}

function postgresBin() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'dirname "$(command -v initdb)"'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '.') return which.stdout.trim();
  throw new Error('PostgreSQL server binaries (initdb, postgres) not found; install postgresql');
}

/**
 * A PostgreSQL cluster made with initdb in its own folder. initdb and postgres refuse to run as root, so as
 * root the cluster belongs to the `postgres` user. fsync is off: only processes are killed here, never the
 * machine, and the kernel keeps what they wrote.
 */
export async function startPostgres(port, dir) {
  const bin = postgresBin();
  const dataDir = join(dir, 'data');
  let ids = {};
  if (userInfo().uid === 0) {
    const lookup = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (lookup.status !== 0) throw new Error('running as root needs a "postgres" user to own the cluster');
    ids = { uid: Number(lookup.stdout), gid: Number(group.stdout) };
    chownSync(dir, ids.uid, ids.gid);
  }
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
    { encoding: 'utf8', ...ids },
  );
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stdout}\n${init.stderr}`);
  const postgres = controlled(
    'postgres',
    async () => {
      const running = launch(
        join(bin, 'postgres'),
        [
          '-D',
          dataDir,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'fsync=off',
          '-c',
          'max_connections=200',
        ],
        ids,
      );
      const ready = () =>
        spawnSync(join(bin, 'pg_isready'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'postgres',
          '-t',
          '1',
        ]).status === 0;
      await waitFor('postgres', async () => ready(), running);
      return running;
    },
    // Fast shutdown: end the sessions, write a checkpoint.
    (child) => child.kill('SIGINT'),
  );
  await postgres.start();
  return Object.assign(postgres, { url: `postgres://postgres@127.0.0.1:${port}/postgres` });
}

/** Milvus Lite's gRPC server (scripts/milvus-lite-server.py in .venv/milvus), on a fixed port and data folder. */
export async function startMilvus(repoRoot, port, dataDir) {
  const python = join(repoRoot, '.venv', 'milvus', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`Milvus Lite needs ${python}; run \`pnpm milvus:setup\` first`);
  await mkdir(dataDir, { recursive: true });
  const milvus = controlled(
    'milvus',
    async () => {
      const running = launch(
        python,
        [
          join(repoRoot, 'scripts', 'milvus-lite-server.py'),
          '--data-dir',
          dataDir,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
        ],
        { env: { ...process.env, PYTHONUNBUFFERED: '1' } },
      );
      await waitFor(
        'Milvus Lite',
        async () => running.output().includes('gRPC server listening on') && (await ask(port, null)) !== '',
        running,
      );
      return running;
    },
    (child) => child.kill('SIGTERM'),
  );
  await milvus.start();
  return Object.assign(milvus, { address: `127.0.0.1:${port}` });
}

/** A temporary folder (removed by the returned function). */
export async function tempDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
