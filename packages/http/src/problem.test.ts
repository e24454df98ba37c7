import { AppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import { problemFromError } from './problem.js';

const internals =
  'Milvus search failed: connect ECONNREFUSED 10.0.3.7:19530 (postgres://rag@db.internal/rag)';

describe('problemFromError', () => {
  it.each(['dependency_unavailable', 'timeout', 'shutting_down', 'internal', 'model_error'] as const)(
    'answers %s with a stable code and a safe detail naming the request id, never the cause',
    (code) => {
      const problem = problemFromError(new AppError(code, internals), 'req-42');
      expect(problem.code).toBe(code);
      expect(problem.detail).toContain('req-42');
      for (const secret of ['Milvus', '10.0.3.7', 'ECONNREFUSED', 'postgres', 'db.internal']) {
        expect(problem.detail).not.toContain(secret);
      }
    },
  );

  it("keeps the message of the caller's own mistakes", () => {
    const problem = problemFromError(
      new AppError('payload_too_large', 'document exceeds the pages limit of 2000'),
      'req-42',
    );
    expect(problem).toMatchObject({ status: 413, detail: 'document exceeds the pages limit of 2000' });
  });
});
