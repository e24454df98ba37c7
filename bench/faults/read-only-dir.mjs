// Makes a folder read-only for everyone, root included (root ignores file modes, and the matrix may run as
// root): a read-only bind mount of the folder over itself where mounting is allowed (the whole tree then
// fails with EROFS, like a disk remounted read-only), else the immutable attribute on every folder of the
// tree (no file can be created, renamed or deleted in it), else, for a user other than root, file modes.
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.status === 0
    ? null
    : `${command} ${args.join(' ')}: ${(result.stderr || result.error?.message || '').trim()}`;
}

/** Returns how it was done and a function that makes the folder writable again. */
export function makeReadOnly(dir) {
  const failures = [];
  const bound = run('mount', ['--bind', dir, dir]);
  if (bound === null) {
    const remounted = run('mount', ['-o', 'remount,ro,bind', dir]);
    if (remounted === null) return { method: 'read-only bind mount', undo: () => run('umount', [dir]) };
    failures.push(remounted);
    run('umount', [dir]);
  } else failures.push(bound);
  const immutable = run('sh', ['-c', 'find "$1" -type d -exec chattr +i {} +', 'sh', dir]);
  if (immutable === null) {
    return {
      method: 'chattr +i on every folder',
      undo: () => run('sh', ['-c', 'find "$1" -type d -exec chattr -i {} +', 'sh', dir]),
    };
  }
  failures.push(immutable);
  if (userInfo().uid !== 0) {
    const modes = run('chmod', ['-R', 'a-w', dir]);
    if (modes === null) return { method: 'chmod -R a-w', undo: () => run('chmod', ['-R', 'u+w', dir]) };
    failures.push(modes);
  }
  throw new Error(`could not make ${dir} read-only:\n${failures.join('\n')}`);
}
