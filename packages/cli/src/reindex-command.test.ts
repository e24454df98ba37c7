import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-program.js';

/** Runs `rag` in-process against a fake gateway: `answer` gives each call's status and body. */
async function rag(argv: string[], answer: (method: string, url: string) => [number, unknown]) {
  const calls: string[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    calls.push(`${method} ${new URL(String(input)).pathname}${init?.body ? ` ${String(init.body)}` : ''}`);
    const [status, body] = answer(method, String(input));
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': status < 300 ? 'application/json' : 'application/problem+json' },
    });
  };
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await runCli(argv, {
    stdout: sink((t) => {
      out += t;
    }),
    stderr: sink((t) => {
      err += t;
    }),
    env: { RAG_API_KEY: 'rag_test' },
    fetch,
  });
  return { code, calls, out, err };
}

const status = (state: string, done: number, extra: Record<string, unknown> = {}) => ({
  id: '00000000-0000-4000-8000-000000000001',
  collection: 'handbook',
  state,
  from_model: 'tiny-a',
  to_model: 'tiny-b',
  documents: { done, total: 4 },
  chunks_done: done * 2,
  documents_per_second: done > 0 ? 2 : null,
  eta_seconds: state === 'running' && done > 0 ? (4 - done) / 2 : null,
  started_at: '2025-01-01T00:00:00.000Z',
  finished_at: null,
  drop_old_after: null,
  old_dropped_at: null,
  error: null,
  ...extra,
});

describe('rag reindex', () => {
  it('starts a reindex and follows it until the switch (--watch)', async () => {
    const polls = [status('running', 2), status('switched', 4)];
    const { code, calls, out, err } = await rag(
      ['reindex', 'handbook', '--model', 'tiny-b', '--watch', '--interval', '50'],
      (method) => (method === 'POST' ? [202, status('running', 0)] : [200, polls.shift()]),
    );
    expect(code).toBe(0);
    expect(calls).toEqual([
      'POST /v1/collections/handbook/reindex {"model":"tiny-b"}',
      'GET /v1/collections/handbook/reindex',
      'GET /v1/collections/handbook/reindex',
    ]);
    expect(out).toBe('handbook: switched, tiny-a -> tiny-b, 4/4 documents, 2 documents/s\n');
    expect(err).toContain('4/4');
  });

  it('exits 1 when the watched reindex ends without a switch, and shows why', async () => {
    const { code, out } = await rag(['reindex', 'handbook', '--status', '--watch'], () => [
      200,
      status('failed', 1, { error: 'the model is no longer served' }),
    ]);
    expect(code).toBe(1);
    expect(out).toContain('failed (the model is no longer served)');
  });

  it('cancels, and prints a second reindex refused with 409 as an error', async () => {
    const cancelled = await rag(['reindex', 'handbook', '--cancel'], () => [200, status('cancelled', 1)]);
    expect(cancelled.calls).toEqual(['DELETE /v1/collections/handbook/reindex']);
    expect(cancelled.out).toContain('handbook: cancelled');
    const refused = await rag(['reindex', 'handbook', '--model', 'tiny-b'], () => [
      409,
      {
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        code: 'conflict',
        detail: 'is being reindexed already',
      },
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('error (409');
  });

  it('needs exactly one of --model, --status and --cancel', async () => {
    expect((await rag(['reindex', 'handbook'], () => [200, {}])).code).toBe(2);
    expect((await rag(['reindex', 'handbook', '--status', '--cancel'], () => [200, {}])).code).toBe(2);
  });
});
