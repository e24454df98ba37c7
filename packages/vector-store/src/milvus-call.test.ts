import { isAppError } from '@rag/contracts/app-error';
import type { ResStatus } from '@zilliz/milvus2-sdk-node';
import { describe, expect, it } from 'vitest';
import { isIndexNotFound, milvusCall } from './milvus-call.js';

function status(overrides: Partial<ResStatus>): ResStatus {
  return {
    extra_info: {},
    error_code: 'Success',
    reason: '',
    code: 0,
    retriable: false,
    detail: '',
    ...overrides,
  };
}

async function failure(run: Promise<unknown>) {
  try {
    await run;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('milvusCall', () => {
  it('returns a response whose status is a success', async () => {
    const response = { status: status({}), value: true };
    await expect(milvusCall('hasCollection', async () => response)).resolves.toBe(response);
  });

  it('accepts a bare status (calls that answer only a status)', async () => {
    await expect(milvusCall('loadCollection', async () => status({}))).resolves.toBeDefined();
  });

  it('turns an error status into a retryable dependency_unavailable with the server reason', async () => {
    const error = await failure(
      milvusCall(
        'query',
        async () => ({ status: status({ error_code: 6, code: 6, reason: 'bad expr' }), data: [] }),
        {
          context: { collection: 'c' },
        },
      ),
    );
    expect(error.code).toBe('dependency_unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('bad expr');
    expect(error.context).toMatchObject({ operation: 'query', collection: 'c', code: 6 });
  });

  it('treats a response without a status as a failure (an unimplemented call answers empty)', async () => {
    const error = await failure(milvusCall('flush', async () => ({})));
    expect(error.code).toBe('dependency_unavailable');
    expect(error.message).toContain('without a status');
  });

  it('treats a success error_code with a non-zero code as a failure', async () => {
    const error = await failure(milvusCall('insert', async () => status({ code: 65535, reason: 'boom' })));
    expect(error.message).toContain('boom');
  });

  it('wraps thrown errors and thrown status objects', async () => {
    const thrownError = await failure(
      milvusCall('search', async () => {
        throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
      }),
    );
    expect(thrownError.code).toBe('dependency_unavailable');
    expect(thrownError.message).toContain('ECONNREFUSED');

    const thrownStatus = await failure(
      milvusCall('createCollection', async () => {
        throw status({ error_code: 'UnexpectedError', code: 1, reason: 'already exists' });
      }),
    );
    expect(thrownStatus.message).toContain('already exists');
  });

  it('lets the caller accept a status it handles itself', async () => {
    const notFound = { status: status({ error_code: 'IndexNotExist', code: 700 }), index_descriptions: [] };
    await expect(
      milvusCall('describeIndex', async () => notFound, { accept: isIndexNotFound }),
    ).resolves.toBe(notFound);
  });
});
