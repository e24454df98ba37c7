import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbedResponse } from '@rag/contracts/embedding-api';
import { writeTinyModel } from '@rag/models/tiny-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64Float32 } from './openai-embeddings.js';
import { metric, startTestService, type TestService } from './test-service.js';

const problem = async (response: Response) => (await response.json()) as { code: string; detail: string };

interface OpenAiList {
  object: string;
  model: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  usage: { prompt_tokens: number; total_tokens: number };
}

function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => {
    expect(value).toBeCloseTo(expected[i]!, 5);
  });
}

describe('embedding service over HTTP (tiny model, real ONNX Runtime)', () => {
  let root: string;
  let modelDir: string;
  let service: TestService;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rag-embedding-http-'));
    modelDir = join(root, 'tiny');
    await writeTinyModel(modelDir, { seed: 3 });
    service = await startTestService(
      { modelDir, poolSize: 2, threads: 1 },
      { limits: { maxInputs: 8, maxInputChars: 2000, maxTotalTokens: 600 } },
    );
  });
  afterAll(async () => {
    await service?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('embeds inputs with the requested outputs, one result per input, and still takes the old texts field', async () => {
    const response = await service.post('/v1/embed', {
      inputs: ['the old mill', 'a river'],
      outputs: ['dense', 'sparse', 'colbert'],
      kind: 'query',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as EmbedResponse;
    expect(body.model.name).toBe('tiny-bge-m3-d32-s3');
    expect(body.data).toHaveLength(2);
    expect(Object.keys(body.data[0]!).sort()).toEqual(['colbert', 'dense', 'sparse', 'tokens']);

    const alias = (await (
      await service.post('/v1/embed', { texts: ['the old mill'], outputs: ['dense'], kind: 'query' })
    ).json()) as EmbedResponse;
    // Another batch, so the same text may differ in the last float bits.
    expectClose(alias.data[0]!.dense!, body.data[0]!.dense!);

    const both = await service.post('/v1/embed', { inputs: ['a'], texts: ['b'] });
    expect(both.status).toBe(422);
  });

  it('truncates an over-long input by default and refuses it with 413 when truncate is false', async () => {
    const long = 'x '.repeat(520);
    const cut = await service.post('/v1/embed', { inputs: [long], outputs: ['dense'] });
    expect(cut.status).toBe(200);
    expect(((await cut.json()) as EmbedResponse).data[0]!.tokens).toBe(512);

    const refused = await service.post('/v1/embed', {
      inputs: ['short', long],
      outputs: ['dense'],
      truncate: false,
    });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({
      code: 'payload_too_large',
      detail: expect.stringMatching(/Input 1 is longer than the model's 512 tokens.*truncate: true/),
    });
  });

  it('embeds the empty string (its special tokens)', async () => {
    const response = await service.post('/v1/embed', { inputs: [''], outputs: ['dense', 'sparse'] });
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as EmbedResponse;
    expect(data[0]).toMatchObject({ tokens: 2, sparse: { indices: [], values: [] } });
  });

  it('enforces the count, length and total-token limits with 413s that name them', async () => {
    const tooMany = await service.post('/v1/embed', { inputs: Array.from({ length: 9 }, () => 'x') });
    expect(tooMany.status).toBe(413);
    expect((await problem(tooMany)).detail).toContain('At most 8 inputs');

    const tooLong = await service.post('/v1/embed', { inputs: ['ok', 'y'.repeat(2001)] });
    expect(tooLong.status).toBe(413);
    expect((await problem(tooLong)).detail).toContain('inputs[1] has 2001 characters');

    // Two texts of 512 tokens each: 1024 tokens in all, over the limit of 600.
    const tooManyTokens = await service.post('/v1/embed', {
      inputs: ['mill '.repeat(400), 'mill '.repeat(400)],
    });
    expect(tooManyTokens.status).toBe(413);
    expect((await problem(tooManyTokens)).detail).toContain('1024 tokens in all, more than the limit of 600');
  });

  it('refuses a body with invalid UTF-8 bytes, and text holding half a surrogate pair', async () => {
    const prefix = Buffer.from('{"inputs":["caf');
    const suffix = Buffer.from('"]}');
    const invalid = Buffer.concat([prefix, Buffer.from([0xc3, 0x28]), suffix]);
    const bytes = await service.post('/v1/embed', new Uint8Array(invalid));
    expect(bytes.status).toBe(400);
    expect((await problem(bytes)).detail).toContain('not valid UTF-8');

    const surrogate = await service.post('/v1/embed', '{"inputs":["fine", "bad \\ud800 text"]}');
    expect(surrogate.status).toBe(422);
    expect((await problem(surrogate)).detail).toContain('inputs[1] is not well-formed Unicode');
  });

  it('says which outputs a model lacks', async () => {
    const response = await service.post('/v1/embed', { inputs: ['x'], outputs: ['dense'], kind: 'essay' });
    expect(response.status).toBe(422);
    expect((await problem(response)).detail).toContain('kind');
  });

  it('answers the OpenAI embeddings API with floats or base64, and usage', async () => {
    const floats = await service.post('/v1/embeddings', {
      input: ['the old mill', 'a river'],
      model: 'anything',
    });
    expect(floats.status).toBe(200);
    const body = (await floats.json()) as OpenAiList;
    expect(body).toMatchObject({
      object: 'list',
      model: 'tiny-bge-m3-d32-s3',
      data: [
        { object: 'embedding', index: 0 },
        { object: 'embedding', index: 1 },
      ],
    });
    expect(body.data[0]!.embedding).toHaveLength(32);
    const embedded = (await (
      await service.post('/v1/embed', { inputs: ['the old mill', 'a river'], outputs: ['dense'] })
    ).json()) as EmbedResponse;
    const floatVector = body.data[0]!.embedding as number[];
    expectClose(floatVector, embedded.data[0]!.dense!);
    const tokens = embedded.data[0]!.tokens + embedded.data[1]!.tokens;
    expect(body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });

    const base64 = (await (
      await service.post('/v1/embeddings', { input: 'the old mill', encoding_format: 'base64' })
    ).json()) as OpenAiList;
    expect(typeof base64.data[0]!.embedding).toBe('string');
    expectClose(decodeBase64Float32(base64.data[0]!.embedding as string), floatVector);
  });

  it('embeds OpenAI token arrays as the same text would be, given its token ids', async () => {
    const tokenized = (await (
      await service.post('/v1/tokenize', { inputs: ['the old mill', 'a river'] })
    ).json()) as { data: { ids: number[] }[] };
    const ids = tokenized.data.map((text) => text.ids);
    const fromTokens = (await (await service.post('/v1/embeddings', { input: ids })).json()) as OpenAiList;
    const fromTexts = (await (
      await service.post('/v1/embeddings', { input: ['the old mill', 'a river'] })
    ).json()) as OpenAiList;
    expectClose(fromTokens.data[0]!.embedding as number[], fromTexts.data[0]!.embedding as number[]);
    expectClose(fromTokens.data[1]!.embedding as number[], fromTexts.data[1]!.embedding as number[]);
    expect(fromTokens.usage).toEqual(fromTexts.usage);
    const single = (await (await service.post('/v1/embeddings', { input: ids[0] })).json()) as OpenAiList;
    expectClose(single.data[0]!.embedding as number[], fromTexts.data[0]!.embedding as number[]);
  });

  it('refuses OpenAI requests it cannot honour, naming why', async () => {
    const outOfVocabulary = await service.post('/v1/embeddings', { input: [[1, 2, 99_999_999]] });
    expect(outOfVocabulary.status).toBe(422);
    expect((await problem(outOfVocabulary)).detail).toContain('token id 99999999, which is not one of');
    const tooLong = await service.post('/v1/embeddings', { input: [Array.from({ length: 5000 }, () => 5)] });
    expect(tooLong.status).toBe(413);
    expect((await problem(tooLong)).detail).toMatch(/input\[0\] has 5000 tokens, more than the model's \d+/);
    const dimensions = await service.post('/v1/embeddings', { input: 'x', dimensions: 16 });
    expect(dimensions.status).toBe(422);
    expect((await problem(dimensions)).detail).toContain('32 dimensions only');
  });

  it('lists the model, with its provider, in /v1/models, /v1/model and /health/ready', async () => {
    const models = await (await service.get('/v1/models')).json();
    expect(models).toMatchObject({
      object: 'list',
      data: [{ id: 'tiny-bge-m3-d32-s3', object: 'model', provider: 'cpu', family: 'bge-m3', dim: 32 }],
    });
    const ready = await (await fetch(`${service.managementUrl}/health/ready`)).json();
    expect(ready).toMatchObject({ ready: true, provider: 'cpu', model: 'tiny-bge-m3-d32-s3' });
  });

  it('exports TEI-named metrics and the provider', async () => {
    await service.post('/v1/embed', { inputs: ['metrics please'] });
    expect(
      await metric(service, 'te_request_count{method="embed",service="embedding-service"}'),
    ).toBeGreaterThan(0);
    expect(await metric(service, 'te_batch_next_size_count{service="embedding-service"}')).toBeGreaterThan(0);
    expect(
      await metric(service, 'te_request_queue_duration_count{service="embedding-service"}'),
    ).toBeGreaterThan(0);
    expect(await metric(service, 'te_queue_size{service="embedding-service"}')).toBe(0);
    const text = await (await fetch(`${service.managementUrl}/metrics`)).text();
    expect(text).toMatch(/embedding_model_info\{model="tiny-bge-m3-d32-s3",family="bge-m3",provider="cpu",/);
    expect(text).toContain('te_request_tokenization_duration_bucket');
    expect(text).toContain('te_request_inference_duration_bucket');
    expect(text).toContain('embedding_texts_total');
  });
});
