import type { DocumentHints, ExtractedDocument } from './extracted-document.js';
import type { ExtractionLimits } from './extraction-limits.js';

export interface ExtractJob {
  bytes: Uint8Array;
  hints: DocumentHints;
  limits: ExtractionLimits;
}

export type ExtractOutcome =
  | { ok: true; document: ExtractedDocument }
  | {
      ok: false;
      error: { code: string; message: string; retryable: boolean; context: Record<string, unknown> };
    };
