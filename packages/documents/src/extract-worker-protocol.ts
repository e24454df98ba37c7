import type { DocumentHints, ExtractedDocument } from './extracted-document.js';
import type { ExtractionLimits } from './extraction-limits.js';

/** Host -> thread: one document to extract. */
export interface ExtractJob {
  id: number;
  bytes: Uint8Array;
  hints: DocumentHints;
  limits: ExtractionLimits;
}

/** Thread -> host: the answer to the job with the same id. */
export type ExtractOutcome = { id: number } & (
  | { ok: true; document: ExtractedDocument }
  | {
      ok: false;
      error: { code: string; message: string; retryable: boolean; context: Record<string, unknown> };
    }
);
