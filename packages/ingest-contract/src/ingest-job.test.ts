import { describe, expect, it } from 'vitest';
import { ingestJobId, maxInlineTextLength, parseIngestJob } from './ingest-job.js';

const documentId = '3f1c2b9e-8d4a-4c6b-9f1e-2a3b4c5d6e7f';
const collectionId = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

const v1Job = {
  v: 1,
  type: 'ingest',
  documentId,
  tenantId: 'acme',
  collectionId,
  version: 1,
  title: null,
  text: 'x',
};

const v2Job = {
  v: 2,
  type: 'ingest',
  tenantId: 'acme',
  collection: 'handbook',
  externalId: 'policy-7',
  title: 'Travel',
  content: { kind: 'inline', text: 'Book flights through the travel tool.' },
};

function reason(data: unknown): string {
  const parsed = parseIngestJob(data);
  if (parsed.ok) throw new Error('expected an invalid job');
  return parsed.reason;
}

describe('ingest job contract', () => {
  it('still accepts version 1 jobs and rejects unknown fields in them', () => {
    expect(parseIngestJob(v1Job)).toEqual({ ok: true, job: v1Job });
    expect(reason({ ...v1Job, extra: true })).toMatch(/extra/);
    expect(reason({ ...v1Job, text: '' })).toMatch(/^text:/);
    expect(reason({ ...v1Job, documentId: 'not-a-uuid' })).toMatch(/^documentId:/);
  });

  it('accepts a version 2 inline job and fills in the media type', () => {
    const parsed = parseIngestJob(v2Job);
    expect(parsed).toMatchObject({ ok: true, job: { content: { kind: 'inline', mediaType: 'text/plain' } } });
  });

  it('accepts a version 2 job that references a stored object', () => {
    const job = {
      ...v2Job,
      content: { kind: 'storage', key: 'acme/uploads/report.pdf', filename: 'report.pdf' },
    };
    expect(parseIngestJob(job).ok).toBe(true);
  });

  it('names what is wrong with a version 2 job', () => {
    expect(reason({ ...v2Job, externalId: undefined })).toMatch(
      /^externalId: an ingest job needs externalId/,
    );
    expect(reason({ ...v2Job, collection: 'Hand Book' })).toMatch(/^collection:/);
    expect(
      reason({ ...v2Job, content: { kind: 'inline', text: 'x'.repeat(maxInlineTextLength + 1) } }),
    ).toMatch(/^content\.text:/);
    expect(reason({ ...v2Job, content: { kind: 'storage', key: '../etc/passwd' } })).toMatch(
      /^content\.key:/,
    );
    expect(reason({ ...v2Job, content: { kind: 'url', url: 'http://x' } })).toMatch(/^content\.kind:/);
    expect(reason({ ...v2Job, v: 3 })).toMatch(/^v: unsupported job version 3/);
    expect(reason('just a string')).toMatch(/^v: unsupported job version/);
    expect(reason({ v: 2, type: 'delete', tenantId: 'acme', collection: 'handbook' })).toMatch(
      /a delete job needs externalId or documentId/,
    );
  });

  it('accepts the build of an accepted version, with or without its text, and nothing else in it', () => {
    const job = { v: 2, type: 'ingest-version', tenantId: 'acme', documentId, version: 3 };
    expect(parseIngestJob(job)).toEqual({ ok: true, job });
    expect(parseIngestJob({ ...job, text: 'A short note.' }).ok).toBe(true);
    expect(reason({ ...job, collection: 'handbook' })).toMatch(/collection/);
    expect(reason({ ...job, version: undefined })).toMatch(/^version:/);
    expect(reason({ ...job, text: 'x'.repeat(maxInlineTextLength + 1) })).toMatch(/^text:/);
  });

  it('accepts version 2 deletes of a document by id and of a collection', () => {
    expect(
      parseIngestJob({ v: 2, type: 'delete', tenantId: 'acme', collection: 'handbook', documentId }).ok,
    ).toBe(true);
    const collectionDelete = { v: 2, type: 'delete-collection', tenantId: 'acme', collectionId };
    expect(parseIngestJob(collectionDelete)).toEqual({ ok: true, job: collectionDelete });
    expect(reason({ ...collectionDelete, collectionId: 'nope' })).toMatch(/^collectionId:/);
  });

  it('gives each gateway action a stable id that BullMQ accepts (no single colon)', () => {
    const ids = [
      ingestJobId({ ...v1Job, type: 'ingest', v: 1, version: 2 } as never),
      ingestJobId({ v: 1, type: 'delete', documentId, tenantId: 'acme', collectionId }),
      ingestJobId({ v: 1, type: 'delete-collection', tenantId: 'acme', collectionId }),
    ];
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id.split(':')).toHaveLength(1);
    expect(ids[0]).toBe(`ingest-${documentId}-v2`);
    // The same action in either version has the same id, so a job queued before an upgrade deduplicates.
    expect(ingestJobId({ v: 2, type: 'ingest-version', tenantId: 'acme', documentId, version: 2 })).toBe(
      ids[0],
    );
    expect(ingestJobId({ v: 2, type: 'delete', tenantId: 'acme', collection: 'handbook', documentId })).toBe(
      ids[1],
    );
    expect(ingestJobId({ v: 2, type: 'delete-collection', tenantId: 'acme', collectionId })).toBe(ids[2]);
  });
});
