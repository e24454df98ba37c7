// The faults of the matrix, each with how it starts (inject) and how it ends (end): services killed or
// terminated and restarted by the harness as an orchestrator would, dependencies crashed and started again on
// the same port and data, dependencies hung past the clients' timeouts and resumed, object storage made
// read-only for a while, and a rolling restart of every service.
import { setTimeout as delay } from 'node:timers/promises';
import { serviceNames } from './fault-stack.mjs';
import { makeReadOnly } from './read-only-dir.mjs';

const services = {
  worker: 'ingest-worker',
  gateway: 'gateway',
  search: 'search-service',
  embedding: 'embedding-service',
};

/**
 * @param {Awaited<ReturnType<import('./fault-stack.mjs').startFaultStack>>} stack
 * @param {{downMs: number, hangMs: number, readOnlyMs: number}} timing
 */
export function faultCatalogue(stack, timing) {
  const faults = [];
  for (const [short, app] of Object.entries(services)) {
    for (const [suffix, signal] of [
      ['kill', 'SIGKILL'],
      ['term', 'SIGTERM'],
    ]) {
      faults.push({
        name: `${short}-${suffix}`,
        describe: `${signal} to the ${app}, a new process 1 s after it exited`,
        inject: () => stack.bringDown(app, signal),
        hold: () => Promise.resolve(),
        end: () => stack.bringUp(app, 1000),
      });
    }
  }
  for (const name of ['redis', 'postgres', 'milvus']) {
    const dependency = stack.dependencies[name];
    faults.push({
      name: `${name}-kill`,
      describe: `SIGKILL to ${name} (all its processes), started again on the same port and data after ${timing.downMs / 1000} s`,
      inject: () => dependency.crash(),
      hold: () => delay(timing.downMs),
      end: () => dependency.start(),
    });
  }
  for (const name of ['redis', 'postgres', 'milvus']) {
    const dependency = stack.dependencies[name];
    faults.push({
      name: `${name}-hang`,
      describe: `SIGSTOP to ${name} for ${timing.hangMs / 1000} s (past the clients' timeouts), then SIGCONT`,
      inject: async () => dependency.hang(),
      hold: () => delay(timing.hangMs),
      end: async () => dependency.resume(),
    });
  }
  let readOnly;
  faults.push({
    name: 'storage-readonly',
    describe: `object storage read-only for ${timing.readOnlyMs / 1000} s`,
    inject: async () => {
      readOnly = makeReadOnly(stack.storageRoot);
    },
    hold: () => delay(timing.readOnlyMs),
    end: async () => {
      readOnly.undo();
      readOnly.undone = true;
    },
    detail: () => readOnly?.method,
    // Stopped in the middle (Ctrl-C): writable again, so the temporary folder can be removed.
    cleanup: () => {
      if (readOnly && !readOnly.undone) readOnly.undo();
    },
  });
  faults.push({
    name: 'rolling-restart',
    describe: 'each service in turn: a new process takes the traffic, then SIGTERM to the old one',
    inject: async () => {
      for (const app of serviceNames) await stack.roll(app);
    },
    hold: () => Promise.resolve(),
    end: () => Promise.resolve(),
  });
  return faults;
}
