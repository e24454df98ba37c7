// CPU accounting from /proc (Linux) for the benches: seconds of CPU each part of a stack used (its process and
// every live descendant), and the machine's busy seconds, so a phase's CPU can be split into the stack's and
// the rest of the machine's (PostgreSQL, the bench itself, neighbours).
import { readdirSync, readFileSync } from 'node:fs';
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

/** CPU seconds so far of each part (`pids`: part → root process id), the machine's busy seconds, the load. */
export function cpuSnapshot(pids) {
  const table = processTable();
  const children = new Map();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const treeCpu = (root) => {
    let sum = 0;
    const stack = [root];
    while (stack.length > 0) {
      const pid = stack.pop();
      sum += table.get(pid)?.cpu ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    return sum;
  };
  const [, ...cpu] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const busy = (cpu.reduce((a, b) => a + b, 0) - cpu[3] - cpu[4]) / ticks;
  return {
    at: performance.now(),
    load: loadavg()[0],
    busy,
    parts: Object.fromEntries(Object.entries(pids).map(([part, pid]) => [part, treeCpu(pid)])),
  };
}

/** CPU seconds per part between two snapshots, and the rest of the machine's. */
export function cpuBetween(from, to) {
  const parts = Object.fromEntries(
    Object.keys(to.parts).map((part) => [part, to.parts[part] - from.parts[part]]),
  );
  const stack = Object.values(parts).reduce((a, b) => a + b, 0);
  return {
    seconds: (to.at - from.at) / 1000,
    load: `${from.load.toFixed(1)}→${to.load.toFixed(1)}`,
    parts,
    rest: Math.max(0, to.busy - from.busy - stack),
  };
}
