import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port.js';

/**
 * A private PostgreSQL cluster (initdb in a temporary folder, on a free port) for tests that kill or hang
 * PostgreSQL: the machine's shared server must never be stopped under other tests.
 */
export interface PrivatePostgres {
  url: string;
  /** SIGKILL of the server (an outage, not a shutdown); resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGSTOP of every server process (a hung server: connections stay open, nothing answers). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

const startTimeoutMs = 30_000;

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'dirname "$(command -v initdb)"'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '.') return which.stdout.trim();
  throw new Error('PostgreSQL server binaries (initdb, postgres) not found; install postgresql');
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'rag-postgres-'));
  const dataDir = join(dir, 'data');
  // initdb and postgres refuse to run as root: the cluster then belongs to the `postgres` user.
  let ids: { uid?: number; gid?: number } = {};
  if (userInfo().uid === 0) {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (uid.status !== 0) throw new Error('running as root needs a "postgres" user to own the cluster');
    ids = { uid: Number(uid.stdout), gid: Number(gid.stdout) };
    chownSync(dir, ids.uid as number, ids.gid as number);
  }
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
    { encoding: 'utf8', ...ids },
  );
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stdout}\n${init.stderr}`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    { stdio: ['ignore', 'pipe', 'pipe'], ...ids },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = () =>
    spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-t', '1'])
      .status === 0;
  const deadline = Date.now() + startTimeoutMs;
  while (!ready()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`postgres on port ${port} did not start:\n${output.trimEnd() || '(no output)'}`);
    }
    await delay(100);
  }

  /** The postmaster and its backends: a hang must stop the processes that hold the connections too. */
  function processes(): number[] {
    const listed = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' });
    return [child.pid as number, ...listed.stdout.split('\n').filter(Boolean).map(Number)];
  }

  function signalAll(signal: NodeJS.Signals): void {
    for (const pid of processes()) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
  }

  async function kill(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) signalAll('SIGKILL');
    await exited;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    pause: () => signalAll('SIGSTOP'),
    resume: () => signalAll('SIGCONT'),
    async close() {
      signalAll('SIGCONT');
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
