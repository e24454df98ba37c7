import { parentPort } from 'node:worker_threads';
import { toAppError } from '@rag/contracts/app-error';
import { extractInProcess } from './extract-in-process.js';
import type { ExtractJob, ExtractOutcome } from './extract-worker-protocol.js';

// Extracts one document at a time for the host; the host ends the thread when a document runs out of time.
async function run(job: ExtractJob): Promise<ExtractOutcome> {
  try {
    return { id: job.id, ok: true, document: await extractInProcess(job.bytes, job.hints, job.limits) };
  } catch (error) {
    // A parser's own exception (not an AppError) means the file is malformed for that parser.
    const appError = toAppError(error, 'validation_failed');
    const { code, message, retryable, context } = appError;
    return { id: job.id, ok: false, error: { code, message, retryable, context } };
  }
}

parentPort?.on('message', (job: ExtractJob) => {
  void run(job).then((outcome) => parentPort?.postMessage(outcome));
});
