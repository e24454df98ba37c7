import { AppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import { dependencyFailure } from './dependency-failure.js';

/** A real file-system error of the given code, as Node reports it (code, errno, syscall, path). */
function fsError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: refused, ${syscall} '/data/objects/a'`), {
    code,
    syscall,
    errno: -1,
  });
}

describe('dependencyFailure', () => {
  it('classifies PostgreSQL connection failures as retryable dependency_unavailable', () => {
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
        code: 'ECONNREFUSED',
        syscall: 'connect',
      }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is shutting down'), { code: '57P03' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })], 'connect failed'),
    ]) {
      const classified = dependencyFailure(error);
      expect(classified?.code, error.message).toBe('dependency_unavailable');
      expect(classified?.retryable).toBe(true);
    }
  });

  it('classifies refused storage writes (read-only, no permission, disk full)', () => {
    for (const code of ['EROFS', 'EACCES', 'EPERM', 'ENOSPC']) {
      expect(dependencyFailure(fsError(code, 'open'))?.code).toBe('dependency_unavailable');
    }
    // What a recursive mkdir answers on a read-only mount.
    expect(dependencyFailure(fsError('ENOENT', 'mkdir'))?.code).toBe('dependency_unavailable');
    expect(dependencyFailure(fsError('ENOENT', 'open'))).toBeUndefined();
  });

  it('finds the outage behind an internal AppError', () => {
    const wrapped = new AppError('internal', 'listing failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(dependencyFailure(wrapped)?.code).toBe('dependency_unavailable');
  });

  it('leaves bugs and errors that already name their kind alone', () => {
    expect(dependencyFailure(Object.assign(new Error('syntax error'), { code: '42601' }))).toBeUndefined();
    expect(dependencyFailure(new TypeError('x is undefined'))).toBeUndefined();
    expect(dependencyFailure(new AppError('not_found', 'no such thing'))).toBeUndefined();
    // EPERM of a signal is a process problem, not storage.
    expect(dependencyFailure(fsError('EPERM', 'kill'))).toBeUndefined();
  });
});
