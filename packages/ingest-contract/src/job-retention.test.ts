import { describe, expect, it } from 'vitest';
import { parseIngestJob } from './ingest-job.js';
import { withoutInlineText } from './job-retention.js';

describe('withoutInlineText', () => {
  it('keeps a reference to inline text, never the text', () => {
    const text = 'secret words '.repeat(1000);
    const v2 = {
      v: 2,
      type: 'ingest',
      documentId: 'd',
      content: { kind: 'inline', text, mediaType: 'text/plain' },
    };
    const kept = withoutInlineText(v2) as typeof v2;
    expect(JSON.stringify(kept)).not.toContain('secret words');
    expect(kept.content).toEqual({
      kind: 'inline',
      mediaType: 'text/plain',
      omittedText: { length: 13000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    // Not a job any more: run again by mistake, it fails as invalid instead of indexing nothing.
    expect(parseIngestJob({ ...kept, tenantId: 'acme', collection: 'docs' }).ok).toBe(false);
    expect(JSON.stringify(withoutInlineText({ v: 1, type: 'ingest', text }))).not.toContain('secret words');
  });

  it('leaves jobs without inline text, and data that is not a job, as they are', () => {
    const stored = { v: 2, type: 'ingest', content: { kind: 'storage', key: 'uploads/a/b' } };
    expect(withoutInlineText(stored)).toBe(stored);
    expect(withoutInlineText('nope')).toBe('nope');
    expect(withoutInlineText(null)).toBe(null);
  });
});
