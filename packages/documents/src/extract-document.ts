import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode, errorCodes } from '@rag/contracts/app-error';
import { checkInputSize, extractText } from './extract-in-process.js';
import type { ExtractJob, ExtractOutcome } from './extract-worker-protocol.js';
import type { DocumentHints, ExtractedDocument } from './extracted-document.js';
import { type ExtractionLimits, limitExceeded, resolveExtractionLimits } from './extraction-limits.js';
import { detectTextFormat } from './media-type-detection.js';

/**
 * Extracts the text of a file. The format comes from the content (magic bytes, the parts of an OOXML archive, text
 * sniffing); `hints` only choose between text formats that content cannot tell apart (Markdown, CSV, plain text).
 *
 * Parsing runs in a worker thread, one per document: pdf.js, mammoth and the XML parser are synchronous for long
 * stretches, so a timer in this thread could not interrupt them, while `worker.terminate()` can stop a thread in
 * the middle of any loop. The thread also gets its own V8 heap limit (`parserHeapMb`), so a file that makes a parser
 * allocate without bound kills that thread, not the service. (Inflated ZIP data lives in ArrayBuffers outside the
 * V8 heap; the decompression budget bounds that.) Starting a thread costs milliseconds, small next to embedding.
 */
export async function extractDocument(
  bytes: Uint8Array,
  hints: DocumentHints = {},
  limitOverrides: Partial<ExtractionLimits> = {},
): Promise<ExtractedDocument> {
  const limits = resolveExtractionLimits(limitOverrides);
  checkInputSize(bytes, hints, limits);
  // A copy: the caller keeps its buffer, the thread gets its own.
  const job: ExtractJob = { bytes: bytes.slice(), hints: { ...hints }, limits };
  return runInWorker(job);
}

/**
 * Text handed over as a string (an API body or a queue job): HTML and Markdown by `mediaType`, else plain text, or
 * HTML when it plainly is. Runs in the calling thread: these parsers are linear in the input, and the input was
 * already size-limited by whoever accepted it.
 */
export function extractInlineText(
  text: string,
  hints: { mediaType?: string } = {},
  limitOverrides: Partial<Pick<ExtractionLimits, 'maxTextChars'>> = {},
): ExtractedDocument {
  const limits = resolveExtractionLimits(limitOverrides);
  if (text.trim() === '')
    throw new AppError('validation_failed', 'the document text is empty', { retryable: false });
  // Checked before parsing so a huge string fails at once rather than after the parse.
  if (text.length > limits.maxTextChars)
    throw limitExceeded('maxTextChars', limits.maxTextChars, text.length);
  return extractText(text, detectTextFormat(text, hints), limits);
}

function runInWorker(job: ExtractJob): Promise<ExtractedDocument> {
  return new Promise((resolve, reject) => {
    const worker = spawnExtractWorker(job);
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(limitExceeded('parseTimeoutMs', job.limits.parseTimeoutMs))),
      job.limits.parseTimeoutMs,
    );
    worker.once('message', (outcome: ExtractOutcome) =>
      finish(() => (outcome.ok ? resolve(outcome.document) : reject(fromOutcome(outcome.error)))),
    );
    worker.once('error', (error: Error & { code?: string }) =>
      finish(() =>
        reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? limitExceeded('parserHeapMb', job.limits.parserHeapMb)
            : new AppError('internal', `document extraction failed: ${error.message}`, { cause: error }),
        ),
      ),
    );
    worker.once('exit', (exitCode) =>
      finish(() =>
        reject(
          new AppError(
            'internal',
            `document extraction thread exited with code ${exitCode} without a result`,
          ),
        ),
      ),
    );
  });
}

function fromOutcome(error: Extract<ExtractOutcome, { ok: false }>['error']): AppError {
  const code: ErrorCode = error.code in errorCodes ? (error.code as ErrorCode) : 'internal';
  return new AppError(code, error.message, { retryable: error.retryable, context: error.context });
}

/**
 * Built, the worker is dist/extract-worker.js next to this file. From source (vitest) this module is .ts and so is
 * the worker, which a plain Node worker thread cannot load: it first registers source-loader-hooks.mjs
 * (TypeScript's transpileModule), then imports the .ts entry.
 */
function spawnExtractWorker(job: ExtractJob): Worker {
  const options = {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: job.limits.parserHeapMb },
    stdout: false,
    stderr: false,
  };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./extract-worker.js', import.meta.url), options);
  const hooks = new URL('./source-loader-hooks.mjs', import.meta.url).href;
  const entry = new URL('./extract-worker.ts', import.meta.url).href;
  const bootstrap = `import('node:module')
    .then(({ register }) => register(${JSON.stringify(hooks)}))
    .then(() => import(${JSON.stringify(entry)}));`;
  return new Worker(bootstrap, { ...options, eval: true });
}
