// CPU accounting from /proc (Linux) for the benches: seconds of CPU each part of a stack used (its process and
// every live descendant), the PostgreSQL backends serving the stack's connections, and the machine's busy seconds,
// so a phase's CPU can be split into the stack's and the rest of the machine's (the bench itself, neighbours).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';

const ticks = 100; // USER_HZ

function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), {
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / ticks,
      });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** Every process of the tree under `root` (itself included). */
function treePids(root, children) {
  const pids = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop();
    pids.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return pids;
}

/** Local ports of the TCP sockets the given processes hold open. */
function socketPorts(pids) {
  const inodes = new Set();
  for (const pid of pids) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9])) ports.add(Number.parseInt(fields[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * CPU seconds so far of the PostgreSQL backends serving the given processes: a backend's title names its client's
 * address and port ("postgres: … 127.0.0.1(54321) idle"), matched against the ports of their sockets.
 */
function postgresBackendCpu(table, pids) {
  const ports = socketPorts(pids);
  const backends = new Map();
  for (const [pid, { cpu }] of table) {
    let title;
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!title.startsWith('postgres: ')) continue;
    const port = /\((\d+)\)/.exec(title)?.[1];
    if (port && ports.has(Number(port))) backends.set(pid, cpu);
  }
  return backends;
}

/**
 * CPU seconds so far of each part (`pids`: part → root process id), the machine's busy seconds, the load, and
 * (with `postgres`) of each PostgreSQL backend serving the parts' connections.
 */
export function cpuSnapshot(pids, options = {}) {
  const table = processTable();
  const children = new Map();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const treeCpu = (root) =>
    treePids(root, children).reduce((sum, pid) => sum + (table.get(pid)?.cpu ?? 0), 0);
  const [, ...cpu] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const busy = (cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4]) / ticks;
  return {
    at: performance.now(),
    load: loadavg()[0],
    busy,
    parts: Object.fromEntries(Object.entries(pids).map(([part, pid]) => [part, treeCpu(pid)])),
    ...(options.postgres
      ? {
          postgres: postgresBackendCpu(
            table,
            Object.values(pids).flatMap((pid) => treePids(pid, children)),
          ),
        }
      : {}),
  };
}

/** CPU seconds per part between two snapshots, and the rest of the machine's. */
export function cpuBetween(from, to) {
  const parts = Object.fromEntries(
    Object.keys(to.parts).map((part) => [part, to.parts[part] - from.parts[part]]),
  );
  const stack = Object.values(parts).reduce((a, b) => a + b, 0);
  // A backend first seen at the end was started during the phase; one gone by then (a pool's idle connection
  // closed) is not counted.
  const postgres =
    from.postgres && to.postgres
      ? [...to.postgres].reduce((sum, [pid, cpu]) => sum + cpu - (from.postgres.get(pid) ?? 0), 0)
      : undefined;
  return {
    seconds: (to.at - from.at) / 1000,
    load: `${from.load.toFixed(1)}→${to.load.toFixed(1)}`,
    parts,
    ...(postgres === undefined ? {} : { postgres }),
    rest: Math.max(0, to.busy - from.busy - stack - (postgres ?? 0)),
  };
}
