import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAIEmbeddings } from '@langchain/openai';
import { writeTinyModel } from '@rag/models/tiny-model';
import { freePort } from '@rag/testing/free-port';
import { findRepoRoot } from '@rag/testing/milvus-lite';
import { type ServiceProcess, startService } from '@rag/testing/service-process';
import { SignJWT } from 'jose';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, type Stack, startStack } from './stack.js';

/**
 * OpenAI's own Node client and LangChain's OpenAIEmbeddings, pointed at the gateway with an API key or a JWT
 * as their key, get the embedding service's vectors; what the gateway refuses, the clients raise as OpenAI's
 * errors with the status, code and param OpenAI would give. A second embedding service serves a second model
 * (the routing table, EMBEDDING_SERVICE_URLS); collections record the model they are created on.
 */
const jwtSecret = randomBytes(32).toString('hex');
const issuer = 'https://idp.example.test';
const audience = 'rag-system';
const perCredentialPerMinute = 30;

let stack: Stack;
let modelDir: string;
let gatewayUrl: string;
let model: string;
let secondModelDir: string;
let secondService: ServiceProcess | undefined;
let secondPort: number;
const secondModel = 'tiny-bge-m3-d32-s7';
const keys: Record<string, string> = {};

const texts = ['The old mill by the river', 'Quarterly travel budget', '東京の会議室'];

/** The embedding service's own dense vectors (POST /v1/embed behind the service token), the reference. */
async function serviceVectors(inputs: string[], url = stack.services[0]!.url): Promise<number[][]> {
  const response = await fetch(`${url}/v1/embed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-service-token': stack.serviceToken },
    body: JSON.stringify({ inputs, outputs: ['dense'] }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { dense: number[] }[] }).data.map((e) => e.dense);
}

async function serviceTokenIds(inputs: string[]): Promise<number[][]> {
  const response = await fetch(`${stack.services[0]!.url}/v1/tokenize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-service-token': stack.serviceToken },
    body: JSON.stringify({ inputs }),
  });
  return ((await response.json()) as { data: { ids: number[] }[] }).data.map((t) => t.ids);
}

/** Equal as float32 (base64 carries float32; floats come from float32 too). */
function expectSameVectors(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[]) {
  expect(actual.map((v) => v.length)).toEqual(expected.map((v) => v.length));
  actual.forEach((vector, i) => {
    vector.forEach((value, j) => {
      expect(Math.fround(value)).toBeCloseTo(Math.fround(expected[i]![j]!), 6);
    });
  });
}

const client = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });

/** What an OpenAI client raised for a refused call: its class, status and OpenAI's error fields. */
async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return {
      kind: error.constructor.name,
      status: error.status,
      code: error.code,
      param: error.param,
      type: error.type,
      message: error.message,
    };
  }
  throw new Error('the call succeeded');
}

async function newKey(role: string): Promise<string> {
  const response = await stack.call('POST', '/v1/api-keys', { body: { tenant: 'acme', role } });
  expect(response.status).toBe(201);
  return (response.body as Json).key;
}

beforeAll(async () => {
  modelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-'));
  await writeTinyModel(modelDir);
  secondModelDir = await mkdtemp(join(tmpdir(), 'tiny-m3-s7-'));
  await writeTinyModel(secondModelDir, { seed: 7 });
  secondPort = (await freePort())!;
  stack = await startStack({
    modelDir,
    gatewayEnv: {
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: audience,
      JWT_ALGORITHMS: 'HS256',
      JWT_SECRET: jwtSecret,
      RATE_LIMIT_PER_CREDENTIAL: String(perCredentialPerMinute),
      EMBEDDING_SERVICE_URLS: `http://127.0.0.1:${secondPort}`,
      // The last test changes a collection's record in PostgreSQL behind the gateway's back.
      AUTH_CACHE_TTL_MS: '0',
    },
  });
  // The second model's own deployment, behind the same service token; the gateway finds it by its URL.
  secondService = await startService({
    app: 'embedding-service',
    repoRoot: findRepoRoot(),
    port: secondPort,
    env: { SERVICE_TOKEN: stack.serviceToken, MODEL_DIR: secondModelDir, LOG_LEVEL: 'warn' },
  });
  gatewayUrl = stack.services.at(-1)!.url;
  expect((await stack.call('POST', '/v1/tenants', { body: { id: 'acme' } })).status).toBe(201);
  keys.editor = await newKey('editor');
  keys.reader = await newKey('reader');
  keys.limited = await newKey('editor');
  const info = await fetch(`${stack.services[0]!.url}/v1/model`, {
    headers: { 'x-service-token': stack.serviceToken },
  });
  model = ((await info.json()) as { name: string }).name;
});

afterAll(async () => {
  await secondService?.stop();
  await stack?.stop();
  await rm(modelDir, { recursive: true, force: true });
  await rm(secondModelDir, { recursive: true, force: true });
});

describe("OpenAI's Node client against the gateway", () => {
  it('gets the embedding service vectors, as base64 (the client default) and as floats', async () => {
    const expected = await serviceVectors(texts);
    const openai = client(keys.editor!);
    const byDefault = await openai.embeddings.create({ model, input: texts });
    expect(byDefault.model).toBe(model);
    expect(byDefault.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expectSameVectors(
      byDefault.data.map((d) => d.embedding),
      expected,
    );
    const floats = await openai.embeddings.create({ model, input: texts[0]!, encoding_format: 'float' });
    expectSameVectors([floats.data[0]!.embedding], [expected[0]!]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    expect(floats.usage.total_tokens).toBe(floats.usage.prompt_tokens);
  });

  it('embeds token arrays (the model ids of the text) as it embeds the text', async () => {
    const ids = await serviceTokenIds(texts.slice(0, 2));
    const answer = await client(keys.editor!).embeddings.create({
      model,
      input: ids,
      encoding_format: 'float',
    });
    expectSameVectors(
      answer.data.map((d) => d.embedding),
      await serviceVectors(texts.slice(0, 2)),
    );
  });

  it('lists the served models, the default marked, with their dimensions', async () => {
    const models = [];
    for await (const listed of client(keys.reader!).models.list()) models.push(listed);
    const described = (id: string, isDefault: boolean) =>
      expect.objectContaining({
        id,
        object: 'model',
        dimensions: 32,
        default: isDefault,
        outputs: ['dense', 'sparse', 'colbert'],
        manifest_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    expect(models).toEqual([described(model, true), described(secondModel, false)]);
  });

  it('embeds with the model named, each by its own service', async () => {
    const openai = client(keys.editor!);
    const second = await openai.embeddings.create({
      model: secondModel,
      input: texts,
      encoding_format: 'float',
    });
    expect(second.model).toBe(secondModel);
    expectSameVectors(
      second.data.map((d) => d.embedding),
      await serviceVectors(texts, secondService!.url),
    );
    const first = await openai.embeddings.create({ model, input: texts[0]!, encoding_format: 'float' });
    expect(first.data[0]!.embedding).not.toEqual(second.data[0]!.embedding);
  });

  it('takes a JWT as the key, like an API key', async () => {
    const token = await new SignJWT({ sub: 'carol', tenant: 'acme', roles: ['editor'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(jwtSecret));
    const answer = await client(token).embeddings.create({ model, input: texts[1]! });
    expectSameVectors([answer.data[0]!.embedding], [(await serviceVectors([texts[1]!]))[0]!]);
  });

  it('refuses what it cannot do as OpenAI does, naming the parameter', async () => {
    const openai = client(keys.editor!);
    expect(await refusal(openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }))).toEqual({
      kind: 'NotFoundError',
      status: 404,
      code: 'model_not_found',
      param: 'model',
      type: 'invalid_request_error',
      message: expect.stringContaining(
        `The model text-embedding-3-small does not exist; served models: ${model}`,
      ),
    });
    expect(await refusal(openai.embeddings.create({ model, input: 'x', dimensions: 16 }))).toMatchObject({
      status: 422,
      code: 'validation_failed',
      param: 'dimensions',
      message: expect.stringContaining(`gives 32 dimensions only, not 16`),
    });
    expect(await refusal(openai.embeddings.create({ model, input: [] }))).toMatchObject({
      status: 422,
      param: 'input',
      type: 'invalid_request_error',
    });
    expect(await refusal(openai.embeddings.create({ model, input: [[0, 99_999_999]] }))).toMatchObject({
      status: 422,
      message: expect.stringContaining('token id 99999999, which is not one of'),
    });
    expect(
      await refusal(openai.embeddings.create({ model, input: [Array.from({ length: 600 }, () => 5)] })),
    ).toMatchObject({
      status: 413,
      code: 'payload_too_large',
      message: expect.stringContaining('600 tokens'),
    });
  });

  it('refuses a key without the editor role (403) and a bad key (401) in OpenAI shape', async () => {
    expect(await refusal(client(keys.reader!).embeddings.create({ model, input: 'x' }))).toMatchObject({
      kind: 'PermissionDeniedError',
      status: 403,
      type: 'permission_error',
      code: 'insufficient_permissions',
      message: expect.stringContaining('editor'),
    });
    expect(await refusal(client('rag_not-a-key').embeddings.create({ model, input: 'x' }))).toMatchObject({
      kind: 'AuthenticationError',
      status: 401,
      code: 'invalid_api_key',
    });
  });

  it('limits each credential on its own, answering 429 in OpenAI shape', async () => {
    const openai = client(keys.limited!);
    let refused: Awaited<ReturnType<typeof refusal>> | undefined;
    for (let i = 0; i <= perCredentialPerMinute && refused === undefined; i += 1) {
      try {
        await openai.embeddings.create({ model, input: 'x' });
      } catch {
        refused = await refusal(openai.embeddings.create({ model, input: 'x' }));
      }
    }
    expect(refused).toMatchObject({ kind: 'RateLimitError', status: 429, code: 'rate_limit_exceeded' });
    // Another credential is not affected.
    expect((await client(keys.editor!).embeddings.create({ model, input: 'x' })).data).toHaveLength(1);
  });
});

describe("LangChain's OpenAIEmbeddings with the gateway as base URL", () => {
  it('embeds documents and queries as the embedding service does', async () => {
    const embeddings = new OpenAIEmbeddings({
      model,
      apiKey: keys.editor!,
      configuration: { baseURL: `${gatewayUrl}/v1` },
      maxRetries: 0,
    });
    expectSameVectors(await embeddings.embedDocuments(texts), await serviceVectors(texts));
    expectSameVectors([await embeddings.embedQuery(texts[2]!)], [(await serviceVectors([texts[2]!]))[0]!]);
  });
});

describe('collections record their model', () => {
  it('records the named model with its manifest hash, and the default as null when none is named', async () => {
    const hash = ((await (await stack.call('GET', '/v1/models')).body) as Json).data[0].manifest_hash;
    const named = await stack.call('POST', '/v1/collections', { body: { name: 'on-e5', model } });
    expect(named.status).toBe(201);
    expect(named.body).toMatchObject({ name: 'on-e5', model, model_manifest_hash: hash });
    const unnamed = await stack.call('POST', '/v1/collections', { body: { name: 'follows-default' } });
    expect(unnamed.body).toMatchObject({ model: null, model_manifest_hash: null });
    const listed = (await stack.call('GET', '/v1/collections')).body.collections as Json[];
    expect(listed.map((c) => [c.name, c.model])).toEqual([
      ['follows-default', null],
      ['on-e5', model],
    ]);
    expect((await stack.call('GET', '/v1/collections/on-e5')).body).toMatchObject({ model });
  });

  it('refuses a model nobody serves (404) as problem+json, and records any served one', async () => {
    const unknown = await stack.call('POST', '/v1/collections', { body: { name: 'nope', model: 'gpt' } });
    expect(unknown).toMatchObject({
      status: 404,
      type: expect.stringContaining('application/problem+json'),
      body: { code: 'not_found', detail: expect.stringContaining('The model gpt does not exist') },
    });
    expect((await stack.call('GET', '/v1/collections/nope')).status).toBe(404);
    const other = await stack.call('POST', '/v1/collections', {
      body: { name: 'on-s7', model: secondModel },
    });
    expect(other).toMatchObject({ status: 201, body: { name: 'on-s7', model: secondModel } });
  });

  it('ingests and searches a collection on its model, and refuses both once the served model differs', async () => {
    await stack.call('POST', '/v1/collections', { body: { name: 'pinned', model } });
    const added = await stack.call('POST', '/v1/collections/pinned/documents', {
      body: { text: 'The old mill by the river grinds flour.' },
    });
    await stack.waitForStatus(added.body.id, undefined, ['ready']);
    const found = await stack.call('POST', '/v1/search', {
      body: { collection: 'pinned', query: 'old mill' },
    });
    expect(found.body.results.map((r: Json) => r.document_id)).toEqual([added.body.id]);

    // What a changed manifest under the same name looks like from the collection's side.
    await stack.db.query(
      "UPDATE collections SET embedding_manifest_hash = repeat('0', 64) WHERE name = 'pinned'",
    );
    const refused = await stack.call('POST', '/v1/search', {
      body: { collection: 'pinned', query: 'old mill' },
    });
    expect(refused).toMatchObject({
      status: 409,
      body: { detail: expect.stringContaining(`the manifest of ${model} changed since`) },
    });
    const later = await stack.call('POST', '/v1/collections/pinned/documents', {
      body: { text: 'A second document about the mill.' },
    });
    const failed = await stack.waitForStatus(later.body.id, undefined, ['failed', 'ready']);
    expect(failed).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('Collection "pinned" was created on the model'),
    });
  });
});
