import { describe, expect, it } from 'vitest';
import { ingestJobId, ingestJobSchema } from './ingest-job.js';

const documentId = '3f1c2b9e-8d4a-4c6b-9f1e-2a3b4c5d6e7f';
const collectionId = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

describe('ingest job contract', () => {
  it('accepts a version 1 ingest job and rejects unknown fields and versions', () => {
    const job = {
      v: 1,
      type: 'ingest',
      documentId,
      tenantId: 'acme',
      collectionId,
      version: 1,
      title: null,
      text: 'x',
    };
    expect(ingestJobSchema.parse(job)).toMatchObject(job);
    expect(ingestJobSchema.safeParse({ ...job, extra: true }).success).toBe(false);
    expect(ingestJobSchema.safeParse({ ...job, v: 2 }).success).toBe(false);
    expect(ingestJobSchema.safeParse({ ...job, text: '' }).success).toBe(false);
    expect(ingestJobSchema.safeParse({ ...job, documentId: 'not-a-uuid' }).success).toBe(false);
  });

  it('gives each action a stable id that BullMQ accepts (no single colon)', () => {
    const ids = [
      ingestJobId({
        v: 1,
        type: 'ingest',
        documentId,
        tenantId: 'acme',
        collectionId,
        version: 2,
        title: null,
        text: 'x',
      }),
      ingestJobId({ v: 1, type: 'delete', documentId, tenantId: 'acme', collectionId }),
      ingestJobId({ v: 1, type: 'delete-collection', tenantId: 'acme', collectionId }),
    ];
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id.split(':')).toHaveLength(1);
    expect(ids[0]).toBe(`ingest-${documentId}-v2`);
  });
});
