import { AppError } from '@rag/contracts/app-error';
import type { ChunkRecord } from '@rag/db/chunk-repository';
import {
  type Collection,
  findCollectionById,
  findDocumentAndCollection,
} from '@rag/db/collection-repository';
import { changedFields } from '@rag/db/document-field-changes';
import { type DocumentRecord, recordExtraction, transitionDocument } from '@rag/db/document-repository';
import { swapDocumentVersion } from '@rag/db/document-version';
import { bumpIndexVersion } from '@rag/db/index-version';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import type { DocumentChunk } from '@rag/documents/chunker';
import { acceptDocument } from '@rag/ingest-acceptance/document-acceptance';
import type {
  IngestDocumentJobV1,
  IngestDocumentJobV2,
  IngestVersionJob,
} from '@rag/ingest-contract/ingest-job';
import { type ChunkTerms, documentChunkTerms } from '@rag/lexical/chunk-terms';
import type { ChunkVectorRow, VectorScope } from '@rag/vector-store/chunk-vector-store';
import { chunkId } from './chunk-id.js';
import { type CollectionKit, kitFor, resolveCollection } from './collection-kit.js';
import { applyFields } from './document-fields.js';
import type { LoadedContent, VersionContent } from './document-pipeline.js';
import type { JobOutcome, ProcessorDeps } from './processor-deps.js';
import { buildVectorRows, vectorSource } from './vector-row.js';

type IngestDocumentJob = IngestDocumentJobV1 | IngestDocumentJobV2;

/**
 * The "ingest-version" job: the build of a version the gateway accepted. The document's row names its
 * source; text too short to be stored comes in the job.
 */
export function ingestVersion(deps: ProcessorDeps, job: IngestVersionJob): Promise<JobOutcome> {
  return buildAcceptedVersion(deps, job, (document) => {
    if (job.text !== undefined) {
      return {
        kind: 'inline',
        text: job.text,
        ...(document.mediaType ? { mediaType: document.mediaType } : {}),
      };
    }
    if (document.sourceKey === null) {
      throw new AppError(
        'validation_failed',
        'The job carries no text and the document has no stored source',
        {
          retryable: false,
        },
      );
    }
    return {
      kind: 'storage',
      key: document.sourceKey,
      ...(document.mediaType ? { mediaType: document.mediaType } : {}),
      ...(document.filename ? { filename: document.filename } : {}),
    };
  });
}

/**
 * The "ingest" job of an upstream producer: the document is accepted as over HTTP (`@rag/ingest-acceptance`:
 * its content hash decides between a new document, a new version and nothing), then built here at once. A job
 * that names a document's id and version was queued by a gateway of an earlier release, which had accepted
 * that version already: it is built as it is.
 */
export async function ingestDocument(deps: ProcessorDeps, job: IngestDocumentJob): Promise<JobOutcome> {
  if (job.v === 1) {
    return buildAcceptedVersion(deps, job, () => ({
      kind: 'inline',
      text: job.text,
      mediaType: 'text/plain',
    }));
  }
  if (job.documentId !== undefined && job.version !== undefined) {
    const accepted = { ...job, documentId: job.documentId, version: job.version };
    return buildAcceptedVersion(deps, accepted, () => job.content);
  }
  const collection = await resolveCollection(deps, job);
  const kit = await kitFor(deps, collection);
  const loaded = await kit.pipeline.load(job.content);
  const { content } = job;
  const accepted = await acceptDocument(deps, {
    tenantId: job.tenantId,
    collectionId: collection.id,
    externalId: job.externalId ?? null,
    documentId: job.documentId,
    title: job.title ?? null,
    metadata: job.metadata ?? {},
    acl: job.acl ?? null,
    content:
      content.kind === 'inline'
        ? { kind: 'text', text: content.text, mediaType: content.mediaType }
        : {
            kind: 'stored',
            key: content.key,
            contentHash: loaded.contentHash(),
            mediaType: content.mediaType ?? null,
            filename: content.filename ?? null,
            upload: false,
          },
  });
  const { document } = accepted;
  // The same content again: nothing to do once it is ready; a crashed or failed attempt is resumed.
  if (document.status === 'ready' && accepted.outcome !== 'created' && accepted.outcome !== 'new-version') {
    if (accepted.outcome === 'fields-updated') {
      // Another title, metadata or ACL with it: its vectors take the new fields.
      await applyFields(deps, document, { titleChanged: accepted.changed.includes('title') });
    }
    deps.logger.info({ document_id: document.id, external_id: job.externalId }, 'ingest unchanged');
    return 'unchanged';
  }
  return buildVersion(deps, { collection, kit, document, content, loaded });
}

/**
 * Builds the version a job names, whose row exists; a version superseded meanwhile (its own job builds the
 * newer one), or a document gone or being deleted, is skipped before anything is read.
 */
async function buildAcceptedVersion(
  deps: ProcessorDeps,
  job: { tenantId: string; documentId: string; version: number },
  contentOf: (document: DocumentRecord) => VersionContent,
): Promise<JobOutcome> {
  const found = await findDocumentAndCollection(deps.pool, job.tenantId, job.documentId);
  const document = found?.document;
  if (!document || document.status === 'deleting' || document.version !== job.version) {
    deps.logger.info({ document_id: job.documentId }, 'ingest skipped');
    return 'skipped';
  }
  const collection = found.collection;
  if (!collection || collection.deleting) {
    throw new AppError(
      'validation_failed',
      `Collection "${collection?.name ?? document.collectionId}" does not exist in tenant "${job.tenantId}"`,
    );
  }
  const kit = await kitFor(deps, collection);
  const content = contentOf(document);
  const loaded = await kit.pipeline.load(content);
  return buildVersion(deps, { collection, kit, document, content, loaded });
}

interface VersionBuild {
  collection: Collection;
  kit: CollectionKit;
  document: DocumentRecord;
  content: VersionContent;
  loaded: LoadedContent;
}

/** A document's version extracted, chunked, embedded and swapped in. */
async function buildVersion(deps: ProcessorDeps, build: VersionBuild): Promise<JobOutcome> {
  const { collection, kit, document, loaded } = build;
  await transitionDocument(deps.pool, document.id, document.version, ['queued', 'processing', 'failed'], {
    status: 'processing',
    error: null,
  });

  const extracted = await loaded.extract();
  const sourceTitle = sourceTitleOf(build.content, document, extracted.title);
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
  const sources = chunks.map((chunk, index) =>
    vectorSource(document, {
      chunkId: chunkId(document.id, document.version, chunk.ordinal),
      text: chunk.text,
      context: chunk.context,
      ...(terms[index] ? { indexedTerms: terms[index].indexed } : {}),
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
  content: VersionContent,
  document: DocumentRecord,
  extracted: string | null,
): string | null {
  const filename = content.kind === 'storage' ? (content.filename ?? document.filename) : null;
  if (!filename) return null;
  // A browser may send the path it read the file from; the name is its last part.
  return extracted ?? filename.split(/[\\/]/).pop() ?? null;
}
