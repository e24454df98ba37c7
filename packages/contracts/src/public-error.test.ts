import { describe, expect, it } from 'vitest';
import { AppError } from './app-error.js';
import { publicErrorText } from './public-error.js';

describe('publicErrorText', () => {
  it("keeps the document's own problems readable", () => {
    const encrypted = new AppError('validation_failed', 'the PDF is encrypted and needs a password');
    expect(publicErrorText(encrypted, 'job 7')).toBe(
      'validation_failed: the PDF is encrypted and needs a password',
    );
  });

  it('replaces failures on our side by a fixed message that names the job', () => {
    const pg = new AppError('internal', 'relation "rag_t1.chunks" does not exist at 10.1.2.3:5432');
    expect(publicErrorText(pg, 'job 7')).toBe(
      'internal: The request failed on our side; quote job 7 when reporting it.',
    );
  });
});
