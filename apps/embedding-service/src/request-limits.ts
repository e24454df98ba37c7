import { AppError } from '@rag/contracts/app-error';
import type { RequestLimits } from './config.js';

// A high surrogate not followed by a low one, or a low one without a high one before it.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks what can be checked before tokenising: the number of texts, each text's length in characters, and that
 * each is well-formed Unicode (a JSON "\ud800" escape decodes to half a surrogate pair, which the tokenizer would
 * silently turn into U+FFFD). The total token limit is checked after tokenisation, by the embedder.
 */
export function checkInputs(inputs: readonly string[], limits: RequestLimits, field = 'inputs'): void {
  checkInputCount(inputs.length, limits, field);
  const long = inputs.findIndex((text) => text.length > limits.maxInputChars);
  if (long !== -1) {
    throw new AppError(
      'payload_too_large',
      `${field}[${long}] has ${inputs[long]!.length} characters, more than the limit of ${limits.maxInputChars}`,
      { context: { index: long, limit: limits.maxInputChars } },
    );
  }
  const malformed = inputs.findIndex((text) => loneSurrogate.test(text));
  if (malformed !== -1) {
    throw new AppError(
      'validation_failed',
      `${field}[${malformed}] is not well-formed Unicode: it holds half of a UTF-16 surrogate pair`,
      { context: { issues: [{ path: `${field}.${malformed}`, message: 'lone surrogate' }] } },
    );
  }
}

/** The number of inputs (texts or token arrays) in one request. */
export function checkInputCount(count: number, limits: RequestLimits, field = 'inputs'): void {
  if (count > limits.maxInputs) {
    throw new AppError(
      'payload_too_large',
      `At most ${limits.maxInputs} ${field} per request, got ${count}; split the request`,
      { context: { limit: limits.maxInputs, count } },
    );
  }
}
