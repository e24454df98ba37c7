// Signals for a process and everything it started: a dependency that crashes or hangs takes its helper
// processes with it (PostgreSQL's backends, anything Milvus Lite forks), as a container or a VM would.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** The process and its descendants, parents first (read from /proc). */
export function processTree(rootPid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may hold spaces and parentheses; the fields after its closing parenthesis do not.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(Number(entry));
  }
  const tree = [];
  const walk = (pid) => {
    tree.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(rootPid);
  return tree;
}

/** Sends the signal to every process of the tree; those that are gone already are skipped. */
export function signalTree(rootPid, signal) {
  const pids = processTree(rootPid);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILLs the whole tree and waits until none of its processes is left (zombies count as gone). */
export async function killTree(rootPid) {
  const pids = signalTree(rootPid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline)
      throw new Error(`processes ${pids.filter(isAlive).join(', ')} survived SIGKILL`);
    await delay(50);
  }
}
