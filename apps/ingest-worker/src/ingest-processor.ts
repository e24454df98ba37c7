import type { IngestJob } from '@rag/ingest-contract/ingest-job';
import { deleteWholeCollection } from './delete-collection.js';
import { deleteDocument } from './delete-document.js';
import { updateDocumentFields } from './document-fields.js';
import { ingestDocument, ingestVersion } from './ingest-document.js';
import { markJobFailed, markJobInvalid } from './job-failure.js';
import type { JobOutcome, ProcessorDeps } from './processor-deps.js';

/**
 * Runs one validated job by its type: ingest and ingest-version (ingest-document.ts), update-fields
 * (document-fields.ts), delete (delete-document.ts), delete-collection (delete-collection.ts); failures are
 * recorded by job-failure.ts. Throws AppErrors; the worker decides between retry and failure.
 */
export function createIngestProcessor(deps: ProcessorDeps) {
  return {
    run(job: IngestJob): Promise<JobOutcome> {
      switch (job.type) {
        case 'ingest':
          return ingestDocument(deps, job);
        case 'ingest-version':
          return ingestVersion(deps, job);
        case 'delete':
          return deleteDocument(deps, job);
        case 'delete-collection':
          return deleteWholeCollection(deps, job);
        case 'update-fields':
          return updateDocumentFields(deps, job);
      }
    },
    /** The final failure of a job, on the document it names (see job-failure.ts). */
    markFailed: (job: IngestJob, message: string): Promise<void> => markJobFailed(deps, job, message),
    /** A job that is not valid, on the document it seems to name (see job-failure.ts). */
    markInvalid: (data: unknown, reason: string): Promise<void> => markJobInvalid(deps, data, reason),
  };
}

export type IngestProcessor = ReturnType<typeof createIngestProcessor>;
