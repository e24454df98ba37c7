import { createMilvusStore, type MilvusStore } from '@rag/vector-store/milvus-store';
import type { Json, Stack } from './stack.js';

/** Helpers the ingestion end-to-end tests share: uploads, and counting what PostgreSQL and Milvus hold. */

export function gatewayUrl(stack: Stack): string {
  return stack.services.find((s) => s.name === 'gateway')!.url;
}

/** POSTs a multipart upload (a `file` part and the JSON `document` field) to a collection's documents. */
export async function upload(
  stack: Stack,
  collection: string,
  file: { name: string; bytes: Uint8Array; type?: string },
  fields: Record<string, unknown> = {},
): Promise<{ status: number; body: Json }> {
  const form = new FormData();
  form.set('document', JSON.stringify(fields));
  form.set('file', new Blob([file.bytes], { type: file.type ?? 'application/octet-stream' }), file.name);
  const response = await fetch(`${gatewayUrl(stack)}/v1/collections/${collection}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminKey}` },
    body: form,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** A Milvus store on the stack's collection prefix, for counting entities the way the services see them. */
export async function openVectorStore(stack: Stack): Promise<MilvusStore> {
  const model = (await (
    await fetch(`${stack.services[0]!.url}/v1/model`, { headers: { 'x-service-token': stack.serviceToken } })
  ).json()) as { name: string; dim: number; outputs: { sparse: boolean } };
  return createMilvusStore({
    address: stack.milvus.address,
    collectionPrefix: stack.milvusPrefix,
    space: { model: model.name, dim: model.dim, hasSparse: model.outputs.sparse },
  });
}

export async function collectionId(stack: Stack, tenant: string, name: string): Promise<string> {
  const { rows } = await stack.db.query('SELECT id FROM collections WHERE tenant_id = $1 AND name = $2', [
    tenant,
    name,
  ]);
  return rows[0].id;
}

/** Chunk rows of a document in PostgreSQL, by version. */
export async function chunkRows(stack: Stack, documentId: string) {
  const { rows } = await stack.db.query(
    `SELECT id, document_version, ordinal, page, heading_path, start_offset, end_offset, text
       FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
    [documentId],
  );
  return rows as Array<{
    id: string;
    document_version: number;
    ordinal: number;
    page: number | null;
    heading_path: string[];
    start_offset: number;
    end_offset: number;
    text: string;
  }>;
}

/** The chunk ids Milvus holds for a document (at most a few thousand in these tests). */
export async function vectorChunkIds(
  store: MilvusStore,
  scope: { tenantId: string; collectionId: string },
  documentId: string,
): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of store.listChunks(scope)) {
    for (const row of batch) if (row.documentId === documentId) ids.push(row.chunkId);
  }
  return ids.sort();
}
