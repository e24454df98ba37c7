import { AppError } from '@rag/contracts/app-error';

/**
 * What one document may cost to extract. Each limit fails the document with a `payload_too_large` AppError that
 * names the limit and its value, so the caller (an upload, a queue job) can tell the user which one to change.
 */
export interface ExtractionLimits {
  /** Size of the file as received. */
  maxInputBytes: number;
  /** Pages of a PDF, slides of a PPTX. */
  maxPages: number;
  /** Bytes inflated from a DOCX/XLSX/PPTX archive, declared and actual, all entries read together. */
  maxDecompressedBytes: number;
  /** Characters of the extracted text (UTF-16 code units, after NFKC). */
  maxTextChars: number;
  /** Wall-clock time the parser may run before its worker thread is stopped. */
  parseTimeoutMs: number;
  /** Heap of the parser's worker thread (V8 old generation), so a hostile file cannot take the process's memory. */
  parserHeapMb: number;
}

export const defaultExtractionLimits: Readonly<ExtractionLimits> = Object.freeze({
  maxInputBytes: 50 * 1024 * 1024,
  maxPages: 2_000,
  maxDecompressedBytes: 200 * 1024 * 1024,
  maxTextChars: 10_000_000,
  parseTimeoutMs: 60_000,
  parserHeapMb: 1_024,
});

export function resolveExtractionLimits(overrides: Partial<ExtractionLimits> = {}): ExtractionLimits {
  const limits: ExtractionLimits = { ...defaultExtractionLimits };
  for (const [name, value] of Object.entries(overrides) as [keyof ExtractionLimits, unknown][]) {
    if (value === undefined) continue;
    if (!(name in defaultExtractionLimits))
      throw new AppError('validation_failed', `unknown extraction limit "${name}"`, {
        context: { limit: name },
      });
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new AppError(
        'validation_failed',
        `extraction limit ${name} must be a positive number, got ${String(value)}`,
        {
          context: { limit: name, value },
        },
      );
    limits[name] = value;
  }
  return limits;
}

/** The one error every exceeded limit throws. `actual` is what was seen when the limit tripped (may be partial). */
export function limitExceeded(limit: keyof ExtractionLimits, value: number, actual?: number): AppError {
  const seen = actual === undefined ? '' : ` (got at least ${actual})`;
  return new AppError('payload_too_large', `document exceeds the ${limit} limit of ${value}${seen}`, {
    retryable: false,
    context: { limit, value, ...(actual === undefined ? {} : { actual }) },
  });
}
