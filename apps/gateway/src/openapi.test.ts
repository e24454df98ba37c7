import { compileErrors, validate } from '@readme/openapi-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi.js';
import { publicRoutes } from './route-table.js';

describe('the OpenAPI description', () => {
  const document = buildOpenApiDocument('test');

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(document) as unknown as OpenAPIV3_1.Document);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(document.openapi).toBe('3.1.0');
  });

  it('describes request bodies with the validation rules of the zod schemas', () => {
    const post = document.paths['/v1/collections/{name}/documents']?.post as {
      requestBody: { content: { 'application/json': { schema: Record<string, unknown> } } };
      parameters: Array<{ name: string }>;
    };
    const schema = post.requestBody.content['application/json'].schema;
    expect(schema).toMatchObject({
      type: 'object',
      required: ['text'],
      additionalProperties: false,
      properties: { external_id: { type: 'string', minLength: 1, maxLength: 256 } },
    });
    expect(post.parameters.map((p) => p.name)).toEqual(['name']);
  });

  it('documents every route once', () => {
    const keys = publicRoutes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    const documented = Object.entries(document.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(documented.sort()).toEqual([...keys].sort());
  });

  it('declares the string rules the gateway enforces: no blank text or query, no NUL in principals, a tenant id', () => {
    type Operation = {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, object> } } } };
      parameters: Array<{ name: string; schema: object }>;
    };
    const body = (path: string) =>
      (document.paths[path]!.post as Operation).requestBody.content['application/json'].schema.properties;
    const blank = { pattern: '[^\\s\\uFEFF]' };
    expect(body('/v1/collections/{name}/documents').text).toMatchObject(blank);
    expect(body('/v1/search').query).toMatchObject(blank);
    const principals = body('/v1/api-keys').principals as { items: object };
    expect(principals.items).toMatchObject({ pattern: '^[^\\u0000]*$' });
    const list = document.paths['/v1/api-keys']?.get as Operation;
    expect(list.parameters.find((p) => p.name === 'tenant')?.schema).toMatchObject({
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
    });
  });

  it('documents every success status of a route, with its body', () => {
    const post = document.paths['/v1/collections/{name}/documents']!.post as {
      responses: Record<string, { content: Record<string, unknown> }>;
    };
    expect(post.responses['200']?.content).toEqual(post.responses['202']?.content);
  });
});
