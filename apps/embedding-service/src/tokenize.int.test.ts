import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '@rag/models/tiny-model';
import { createEmbeddingClient } from '@rag/service-clients/embedding-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService, testServiceToken } from './test-service.js';

describe('POST /v1/tokenize', () => {
  let root: string;
  let service: TestService;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rag-tokenize-'));
    await writeTinyModel(join(root, 'tiny'), { seed: 3 });
    service = await startTestService({ modelDir: join(root, 'tiny'), threads: 1 });
  });
  afterAll(async () => {
    await service?.close();
    await rm(root, { recursive: true, force: true });
  });

  const client = () => createEmbeddingClient({ baseUrl: service.url, serviceToken: testServiceToken });

  it('returns ids with special tokens, UTF-16 offsets that slice the input, and no prefix', async () => {
    const text = 'the river flows past the old mill';
    const { model, data } = await client().tokenize({ inputs: [text], offsets: true });
    expect(model).toBe(service.embedder.info.name);
    const [tokenized] = data;
    expect(tokenized!.truncated).toBe(false);
    expect(tokenized!.ids).toHaveLength(tokenized!.offsets!.length);
    expect(tokenized!.offsets![0]).toEqual([0, 0]);
    expect(tokenized!.offsets!.at(-1)).toEqual([0, 0]);
    // Subword pieces, in order, each a non-empty part of the text, together spanning all of it.
    const pieces = tokenized!.offsets!.slice(1, -1);
    pieces.forEach(([start, end], i) => {
      expect(end).toBeGreaterThan(start);
      if (i > 0) expect(start).toBeGreaterThanOrEqual(pieces[i - 1]![1]);
    });
    expect(pieces[0]![0]).toBe(0);
    expect(pieces.at(-1)![1]).toBe(text.length);
    expect(
      pieces
        .map(([start, end]) => text.slice(start, end))
        .join('')
        .replaceAll(' ', ''),
    ).toBe(text.replaceAll(' ', ''));
  });

  it('leaves out special tokens and offsets when asked', async () => {
    const { data } = await client().tokenize({ inputs: ['old mill', 'river'], addSpecialTokens: false });
    const withSpecials = await client().tokenize({ inputs: ['old mill', 'river'] });
    expect(data.map((text) => text.ids)).toEqual(withSpecials.data.map((text) => text.ids.slice(1, -1)));
    expect(data.every((text) => text.offsets === undefined)).toBe(true);
  });

  it('returns every token of a long text unless truncation is asked for', async () => {
    const long = 'river '.repeat(3000);
    const whole = await client().tokenize({ inputs: [long] });
    expect(whole.data[0]!.ids).toHaveLength(3002);
    expect(whole.data[0]!.truncated).toBe(false);
    const cut = await client().tokenize({ inputs: [long], truncate: true });
    expect(cut.data[0]!.ids).toHaveLength(service.embedder.info.maxLength);
    expect(cut.data[0]!.ids.at(-1)).toBe(whole.data[0]!.ids.at(-1));
    expect(cut.data[0]!.truncated).toBe(true);
  });

  it('tokenizes the empty string to the special tokens only', async () => {
    const { data } = await client().tokenize({ inputs: [''], offsets: true });
    expect(data[0]!.ids).toHaveLength(2);
    expect(data[0]!.offsets).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('refuses a request without the service token, and a body without inputs', async () => {
    const anonymous = await fetch(`${service.url}/v1/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: ['x'] }),
    });
    expect(anonymous.status).toBe(401);
    const empty = await service.post('/v1/tokenize', { inputs: [] });
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({
      code: 'validation_failed',
      detail: expect.stringContaining('inputs'),
    });
  });
});
