import { parentPort, workerData } from 'node:worker_threads';
import { toAppError } from '@rag/contracts/app-error';
import { extractInProcess } from './extract-in-process.js';
import type { ExtractJob, ExtractOutcome } from './extract-worker-protocol.js';

// One document per thread: the host ends the thread when it answers or when the parse time runs out.
const job = workerData as ExtractJob;

async function run(): Promise<ExtractOutcome> {
  try {
    return { ok: true, document: await extractInProcess(job.bytes, job.hints, job.limits) };
  } catch (error) {
    // A parser's own exception (not an AppError) means the file is malformed for that parser.
    const appError = toAppError(error, 'validation_failed');
    return {
      ok: false,
      error: {
        code: appError.code,
        message: appError.message,
        retryable: appError.retryable,
        context: appError.context,
      },
    };
  }
}

parentPort?.postMessage(await run());
