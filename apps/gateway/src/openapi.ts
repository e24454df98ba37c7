import {
  collectionDeletionSchema,
  collectionListSchema,
  collectionSchema,
  createApiKeySchema,
  createCollectionSchema,
  createDocumentSchema,
  createdApiKeySchema,
  createTenantSchema,
  documentAcceptedSchema,
  documentDeletionSchema,
  documentSchema,
  problemSchema,
  searchRequestSchema,
  searchResponseSchema,
  tenantSchema,
} from '@rag/contracts/public-api';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 description of the public API, generated from the same zod schemas that validate the
 * requests, so the document cannot drift from what the gateway accepts.
 */
export interface RouteDescription {
  method: 'get' | 'post' | 'delete';
  path: string;
  summary: string;
  role: 'bootstrap admin' | 'admin' | 'editor' | 'reader';
  request?: z.ZodType;
  success: { status: number; description: string; schema: z.ZodType };
  errors: number[];
}

const common = [401, 403, 429];

export const publicRoutes: RouteDescription[] = [
  {
    method: 'post',
    path: '/v1/tenants',
    summary: 'Create a tenant',
    role: 'bootstrap admin',
    request: createTenantSchema,
    success: { status: 201, description: 'The tenant', schema: tenantSchema },
    errors: [...common, 409, 415, 422],
  },
  {
    method: 'post',
    path: '/v1/api-keys',
    summary: 'Create an API key for a tenant (the key is shown once)',
    role: 'admin',
    request: createApiKeySchema,
    success: { status: 201, description: 'The new key', schema: createdApiKeySchema },
    errors: [...common, 404, 415, 422],
  },
  {
    method: 'post',
    path: '/v1/collections',
    summary: 'Create a collection',
    role: 'admin',
    request: createCollectionSchema,
    success: { status: 201, description: 'The collection', schema: collectionSchema },
    errors: [...common, 409, 415, 422],
  },
  {
    method: 'get',
    path: '/v1/collections',
    summary: 'List the collections the credential may use',
    role: 'reader',
    success: { status: 200, description: 'The collections', schema: collectionListSchema },
    errors: common,
  },
  {
    method: 'delete',
    path: '/v1/collections/{name}',
    summary: 'Delete a collection with all its documents',
    role: 'admin',
    success: { status: 202, description: 'Deletion under way', schema: collectionDeletionSchema },
    errors: [...common, 404],
  },
  {
    method: 'post',
    path: '/v1/collections/{name}/documents',
    summary: 'Add a document (indexed asynchronously)',
    role: 'editor',
    request: createDocumentSchema,
    success: { status: 202, description: 'Queued for indexing', schema: documentAcceptedSchema },
    errors: [...common, 404, 409, 413, 415, 422],
  },
  {
    method: 'get',
    path: '/v1/documents/{id}',
    summary: "A document's status",
    role: 'reader',
    success: { status: 200, description: 'The document', schema: documentSchema },
    errors: [...common, 404],
  },
  {
    method: 'delete',
    path: '/v1/documents/{id}',
    summary: 'Delete a document from every store',
    role: 'editor',
    success: { status: 202, description: 'Deletion under way', schema: documentDeletionSchema },
    errors: [...common, 404],
  },
  {
    method: 'post',
    path: '/v1/search',
    summary: 'Hybrid search in a collection',
    role: 'reader',
    request: searchRequestSchema,
    success: { status: 200, description: 'Ranked chunks', schema: searchResponseSchema },
    errors: [...common, 404, 413, 415, 422],
  },
];

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
    const parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const responses: Record<string, unknown> = {
      [route.success.status]: {
        description: route.success.description,
        content: { 'application/json': { schema: jsonSchema(route.success.schema, 'output') } },
      },
    };
    for (const status of route.errors) {
      responses[status] = {
        description: 'Problem',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      summary: route.summary,
      description: `Needs the ${route.role} role.`,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.request
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
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
    },
  };
}
