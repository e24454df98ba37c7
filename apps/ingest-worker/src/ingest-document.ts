import { AppError } from '@rag/contracts/app-error';
import type { ChunkRecord } from '@rag/db/chunk-repository';
import { type Collection, findCollectionById } from '@rag/db/collection-repository';
import {
  changedFields,
  type DocumentRecord,
  findDocument,
  recordExtraction,
  transitionDocument,
} from '@rag/db/document-repository';
import { swapDocumentVersion, upsertDocument } from '@rag/db/document-version';
import { bumpIndexVersion } from '@rag/db/index-version';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import type { DocumentChunk } from '@rag/documents/chunker';
import type {
  DocumentContent,
  IngestDocumentJobV1,
  IngestDocumentJobV2,
} from '@rag/ingest-contract/ingest-job';
import { type ChunkTerms, documentChunkTerms } from '@rag/lexical/chunk-terms';
import type { ChunkVectorRow, VectorScope } from '@rag/vector-store/chunk-vector-store';
import { chunkId } from './chunk-id.js';
import { type CollectionKit, kitFor, resolveCollection } from './collection-kit.js';
import { applyFields } from './document-fields.js';
import type { JobOutcome, ProcessorDeps } from './processor-deps.js';
import { buildVectorRows, vectorSource } from './vector-row.js';

type IngestDocumentJob = IngestDocumentJobV1 | IngestDocumentJobV2;

/** The "ingest" job: a document's version loaded, extracted, chunked, embedded and swapped in. */
export async function ingestDocument(deps: ProcessorDeps, job: IngestDocumentJob): Promise<JobOutcome> {
  const collection = await resolveCollection(deps, job);
  const kit = await kitFor(deps, collection);
  const loaded = await kit.pipeline.load(contentOf(job));
  const resolved = await resolveDocument(deps, job, collection, loaded.contentHash);
  if (resolved === 'unchanged' || resolved === 'skipped') {
    deps.logger.info(
      { document_id: job.documentId, external_id: job.v === 2 ? job.externalId : undefined },
      `ingest ${resolved}`,
    );
    return resolved;
  }
  const document = resolved;
  await transitionDocument(deps.pool, document.id, document.version, ['queued', 'processing', 'failed'], {
    status: 'processing',
    error: null,
  });

  const extracted = await loaded.extract();
  const sourceTitle = sourceTitleOf(contentOf(job), document, extracted.title);
  await recordExtraction(deps.pool, document.id, document.version, { ...extracted, sourceTitle });
  // The title the document shows goes with every chunk into the embedding and the lexical index.
  const chunks = await kit.pipeline.chunk(extracted, document.title ?? sourceTitle);
  if (chunks.length === 0) {
    throw new AppError('validation_failed', 'The document has no indexable text (no letters or digits)');
  }
  const store = kit.store;
  const scope: VectorScope = { tenantId: document.tenantId, collectionId: document.collectionId };
  const terms = documentChunkTerms(chunks);
  const rows = await buildRows(deps, kit, document, chunks, terms);

  // Write vectors, then swap the version in PostgreSQL: grouped with other jobs' writes to the same
  // collection, with the collection's single writer lock held.
  const swap = await deps.collectionWriter.write(store, document.collectionId, {
    scope,
    rows,
    swap: async () => {
      // The collection moved to another model while this version was embedded: its vectors are of the
      // old one. Retried, the job embeds it with the new model.
      const now = await findCollectionById(deps.pool, document.tenantId, document.collectionId);
      if (deps.kits && now?.model && now.model.name !== kit.model) {
        throw new AppError(
          'conflict',
          `Collection "${collection.name}" moved to the model ${now.model.name} while this document was embedded; embedding it again`,
          { retryable: true },
        );
      }
      const swapped = await swapDocumentVersion(
        deps.pool,
        document,
        chunks.map((c, index) => toChunkRecord(document, c, terms[index]?.counted ?? [])),
      );
      // Fields changed while this version was embedded: the rows just written carry the old ones. Still
      // under the collection's writer lock, so no later field update can be overtaken by this one.
      if (swapped.swapped && swapped.fields && !sameVectorFields(swapped.fields, document)) {
        await store.updateDocumentFields(scope, document.id, swapped.fields);
        await store.flush();
        await bumpIndexVersion(deps.pool, document.collectionId);
      }
      return swapped;
    },
  });
  if (!swap.swapped) {
    deps.logger.info(
      { document_id: document.id, reason: swap.reason },
      'document changed while indexing; skipped',
    );
    return 'skipped';
  }
  await deps.events.publish({
    type: 'document.ready',
    status: 'ready',
    tenantId: document.tenantId,
    collection: collection.name,
    collectionId: collection.id,
    documentId: document.id,
    externalId: document.externalId,
    version: document.version,
    chunks: chunks.length,
    error: null,
  });
  return 'ready';
}

function contentOf(job: IngestDocumentJob): DocumentContent {
  return job.v === 1 ? { kind: 'inline', text: job.text, mediaType: 'text/plain' } : job.content;
}

/**
 * The document and version this job builds. A gateway job names both (its row exists); an upstream job
 * names an external id, and its content hash decides between a new document, a new version, and nothing.
 */
async function resolveDocument(
  deps: ProcessorDeps,
  job: IngestDocumentJob,
  collection: Collection,
  contentHash: string,
): Promise<DocumentRecord | 'unchanged' | 'skipped'> {
  if (job.documentId !== undefined && job.version !== undefined) {
    const document = await findDocument(deps.pool, job.tenantId, job.documentId);
    if (!document || document.status === 'deleting' || document.collectionId !== collection.id)
      return 'skipped';
    // A newer version was queued meanwhile: its own job builds it.
    if (document.version !== job.version) return 'skipped';
    return document;
  }
  const v2 = job as IngestDocumentJobV2;
  const source =
    v2.content.kind === 'storage'
      ? {
          sourceKey: v2.content.key,
          mediaType: v2.content.mediaType ?? null,
          filename: v2.content.filename ?? null,
        }
      : { sourceKey: null, mediaType: v2.content.mediaType, filename: null };
  const upserted = await upsertDocument(
    deps.pool,
    {
      tenantId: v2.tenantId,
      collectionId: collection.id,
      externalId: v2.externalId ?? null,
      title: v2.title ?? null,
      contentHash,
      metadata: v2.metadata ?? {},
      acl: v2.acl && v2.acl.length > 0 ? v2.acl : null,
      source,
    },
    { existingId: v2.documentId },
  );
  if (upserted.outcome === 'fields-updated' && upserted.document.status === 'ready') {
    // The same content with another title, metadata or ACL: its vectors take the new fields.
    await applyFields(deps, upserted.document, { titleChanged: upserted.changed.includes('title') });
    return 'unchanged';
  }
  if (upserted.outcome === 'unchanged' || upserted.outcome === 'fields-updated') {
    // The same content again: nothing to do once it is ready; a crashed or failed attempt is resumed.
    return upserted.document.status === 'ready' ? 'unchanged' : upserted.document;
  }
  if (upserted.previousSourceKey && upserted.previousSourceKey !== source.sourceKey) {
    await deps.storage.delete(upserted.previousSourceKey);
  }
  return upserted.document;
}

/** The "build rows" step: embeds chunks in batches into vector rows (dense, sparse when the model has it, BM25). */
async function buildRows(
  deps: ProcessorDeps,
  kit: CollectionKit,
  document: DocumentRecord,
  chunks: DocumentChunk[],
  terms: ChunkTerms[],
): Promise<ChunkVectorRow[]> {
  // BM25 length normalisation uses the collection's average chunk length, this document included, in the
  // terms the statistics count.
  const averageLength = averageChunkLength(await readCollectionIndexStats(deps.pool, document.collectionId), {
    chunks: chunks.length,
    tokens: terms.reduce((sum, chunk) => sum + chunk.counted.length, 0),
  });
  const sources = chunks.map((chunk) =>
    vectorSource(document, {
      chunkId: chunkId(document.id, document.version, chunk.ordinal),
      text: chunk.text,
      context: chunk.context,
    }),
  );
  return buildVectorRows(
    { embeddings: kit.embeddings, embedBatchSize: deps.embedBatchSize },
    kit.store,
    sources,
    averageLength,
  );
}

/** Whether vector rows built from `document` carry these fields (an empty ACL is the same as none). */
function sameVectorFields(
  fields: { acl: string[] | null; metadata: Record<string, unknown> },
  document: DocumentRecord,
): boolean {
  return changedFields(document, fields).length === 0;
}

/** The "replace chunks" rows: text, offsets, page and heading path, and the term ids BM25's statistics count. */
function toChunkRecord(document: DocumentRecord, chunk: DocumentChunk, countedTerms: number[]): ChunkRecord {
  return {
    id: chunkId(document.id, document.version, chunk.ordinal),
    ordinal: chunk.ordinal,
    text: chunk.text,
    startOffset: chunk.start,
    endOffset: chunk.end,
    page: chunk.page,
    headingPath: chunk.headingPath,
    tokenIds: countedTerms,
  };
}

/**
 * The title an uploaded file carries: its own (PDF, Office, HTML, Markdown metadata), else its file name. It shows
 * wherever the caller gave no title. Only a file comes with a file name: text sent as JSON, inline or stored by
 * the gateway, has none and gets no title of its own, as its caller chose not to name it.
 */
function sourceTitleOf(
  content: DocumentContent,
  document: DocumentRecord,
  extracted: string | null,
): string | null {
  const filename = content.kind === 'storage' ? (content.filename ?? document.filename) : null;
  if (!filename) return null;
  // A browser may send the path it read the file from; the name is its last part.
  return extracted ?? filename.split(/[\\/]/).pop() ?? null;
}
