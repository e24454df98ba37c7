import { openAiErrorSchema } from '@rag/contracts/openai-embeddings';
import { problemSchema } from '@rag/contracts/public-api';
import { z } from 'zod';
import { publicRoutes } from './route-table.js';

/**
 * The OpenAPI 3.1 description of the public API, generated from the route table and the same zod schemas
 * that validate the requests, so the document cannot drift from what the gateway accepts.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  return rest;
}

export function buildOpenApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of publicRoutes) {
    const parameters = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...Object.entries('query' in route ? route.query : {}).map(([name, query]) => ({
        name,
        in: 'query',
        required: false,
        description: query.description,
        schema: jsonSchema(query.schema, 'input'),
      })),
    ];
    const success = jsonSchema(route.success.schema, 'output');
    const responses: Record<string, unknown> = {};
    for (const { status, description } of [
      route.success,
      ...('also' in route.success ? route.success.also : []),
    ]) {
      responses[status] = { description, content: { 'application/json': { schema: success } } };
    }
    for (const status of route.errors) {
      responses[status] =
        'errorBody' in route && route.errorBody === 'openai'
          ? {
              description: "Error, in OpenAI's shape",
              content: { 'application/json': { schema: { $ref: '#/components/schemas/OpenAiError' } } },
            }
          : {
              description: 'Problem',
              content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
            };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      summary: route.summary,
      description: `Needs the ${route.role} role.`,
      'x-required-role': route.role,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...('request' in route
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.request, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'rag-system API', version },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (rag_...)' } },
      schemas: {
        Problem: jsonSchema(problemSchema, 'output'),
        OpenAiError: jsonSchema(openAiErrorSchema, 'output'),
      },
    },
  };
}
