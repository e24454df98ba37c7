import { createHash } from 'node:crypto';

/**
 * What Redis keeps of ended ingest jobs, so its memory has a bound whatever the traffic: every kind of
 * ended job is kept for a limited age and up to a count, and keeps references (ids, storage keys), never a
 * document's text. Waiting jobs carry inline text only up to the inline limit; larger text goes to object
 * storage first.
 */
export const completedJobRetention = { age: 24 * 3600, count: 10_000 };
export const failedJobRetention = { age: 7 * 24 * 3600, count: 10_000 };
export const deadLetterRetention = { ageMs: 30 * 24 * 3600 * 1000, count: 10_000 };

/**
 * A job's data as ended jobs and dead letters keep it: inline document text gives way to `omittedText`
 * (its length and SHA-256; the document row, or the producer, still has the text). The result is not a
 * valid job on purpose: should an ended job ever run again, it fails as invalid instead of indexing a
 * placeholder. Anything else is kept as it is.
 */
export function withoutInlineText(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  const { text, ...job } = data as Record<string, unknown>;
  if (typeof text === 'string') return { ...job, omittedText: omitted(text) };
  const content = job.content;
  if (typeof content === 'object' && content !== null && !Array.isArray(content)) {
    const { text: contentText, ...rest } = content as Record<string, unknown>;
    if (typeof contentText === 'string') {
      return { ...job, content: { ...rest, omittedText: omitted(contentText) } };
    }
  }
  return data;
}

function omitted(text: string): { length: number; sha256: string } {
  return { length: text.length, sha256: createHash('sha256').update(text).digest('hex') };
}
