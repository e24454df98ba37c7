import { AppError } from '@rag/contracts/app-error';
import { checkCollectionModel } from '@rag/contracts/collection-model';
import type { EmbeddingClient } from '@rag/contracts/embedding-client';
import { tenantIdSchema, uuidSchema } from '@rag/contracts/identifiers';
import type { ChunkRecord } from '@rag/db/chunk-repository';
import {
  type Collection,
  deleteCollection,
  findCollectionById,
  findCollectionByName,
} from '@rag/db/collection-repository';
import {
  changedFields,
  type DocumentRecord,
  deleteDocumentRow,
  findDocument,
  findDocumentByExternalId,
  listDocumentIds,
  markDocumentDeleting,
  recordExtraction,
  transitionDocument,
} from '@rag/db/document-repository';
import { swapDocumentVersion, upsertDocument } from '@rag/db/document-version';
import { bumpIndexVersion } from '@rag/db/index-version';
import type { Pool } from '@rag/db/pool';
import { findLatestReindex, findRunningReindex } from '@rag/db/reindex-repository';
import { averageChunkLength, readCollectionIndexStats } from '@rag/db/term-stats-repository';
import type { DocumentChunk } from '@rag/documents/chunker';
import type {
  DeleteCollectionJob,
  DeleteDocumentJobV1,
  DeleteDocumentJobV2,
  DocumentContent,
  IngestDocumentJobV1,
  IngestDocumentJobV2,
  IngestJob,
  UpdateFieldsJob,
} from '@rag/ingest-contract/ingest-job';
import { type ChunkTerms, documentChunkTerms } from '@rag/lexical/chunk-terms';
import type { ObjectStorage } from '@rag/storage/object-storage';
import type { Logger } from '@rag/telemetry/logger';
import type { ChunkVectorRow, ChunkVectorStore, VectorScope } from '@rag/vector-store/chunk-vector-store';
import { chunkId } from './chunk-id.js';
import type { CollectionLock } from './collection-lock.js';
import type { CollectionWriter } from './collection-writer.js';
import type { CompletionEvents } from './completion-events.js';
import type { DocumentPipeline } from './document-pipeline.js';
import type { ModelKits } from './model-kits.js';
import { reindexDocument } from './reindex.js';
import { buildVectorRows } from './vector-row.js';

export interface ProcessorDeps {
  pool: Pool;
  /** The default model's client, vector store and chunker (when `kits` is not given, the only model). */
  embeddings: EmbeddingClient;
  vectorStore: () => Promise<ChunkVectorStore>;
  storage: ObjectStorage;
  pipeline: DocumentPipeline;
  /** The served models: each collection is indexed with the model it records. */
  kits?: ModelKits;
  collectionLock: CollectionLock;
  collectionWriter: CollectionWriter;
  events: CompletionEvents;
  logger: Logger;
  embedBatchSize: number;
}

export type JobOutcome = 'ready' | 'unchanged' | 'updated' | 'deleted' | 'skipped';

type IngestDocumentJob = IngestDocumentJobV1 | IngestDocumentJobV2;
type DeleteDocumentJob = DeleteDocumentJobV1 | DeleteDocumentJobV2;

/** The embedding client, chunker and vector store one collection is indexed with. */
interface CollectionKit {
  embeddings: EmbeddingClient;
  pipeline: DocumentPipeline;
  store: ChunkVectorStore;
  /** The model's name (undefined: the only model, whichever it is). */
  model: string | undefined;
}

/** Runs one validated job. Throws AppErrors; the worker decides between retry and failure. */
export function createIngestProcessor(deps: ProcessorDeps) {
  /** The collection a job names (by id in version 1, by name in version 2); a missing one is a bad job. */
  async function resolveCollection(job: IngestJob): Promise<Collection> {
    const collection =
      job.v === 1
        ? await findCollectionById(deps.pool, job.tenantId, job.collectionId)
        : await findCollectionByName(deps.pool, job.tenantId, job.collection);
    const named = job.v === 1 ? job.collectionId : job.collection;
    if (!collection || collection.deleting) {
      throw new AppError(
        'validation_failed',
        `Collection "${named}" does not exist in tenant "${job.tenantId}"`,
      );
    }
    return collection;
  }

  /** The model a collection records, its client and its vector space; 409 when that model is not served. */
  async function kitFor(collection: Collection): Promise<CollectionKit> {
    if (deps.kits) {
      const kit = await deps.kits.forCollection(collection);
      return {
        embeddings: kit.embeddings,
        pipeline: kit.pipeline,
        store: kit.store,
        model: kit.model.info.name,
      };
    }
    if (collection.model) {
      checkCollectionModel(collection.model, await deps.embeddings.modelInfo(), collection.name);
    }
    return {
      embeddings: deps.embeddings,
      pipeline: deps.pipeline,
      store: await deps.vectorStore(),
      model: collection.model?.name,
    };
  }

  /** The kit of a document's collection (gone: undefined). */
  async function kitOfDocument(document: DocumentRecord): Promise<CollectionKit | undefined> {
    const collection = await findCollectionById(deps.pool, document.tenantId, document.collectionId);
    return collection && kitFor(collection);
  }

  /**
   * While the collection moves to another model, a write that changes a document's vectors drops the
   * document's rows from the new model's space too: the reindex embeds it again, as it is then, before it
   * switches. Call with the collection's writer lock held.
   */
  async function dropFromReindexTarget(document: DocumentRecord): Promise<void> {
    if (!deps.kits) return;
    const reindex = await findRunningReindex(deps.pool, document.collectionId);
    if (!reindex) return;
    const target = await deps.kits.forModel(reindex.to.name);
    await target.store.deleteByDocument(
      { tenantId: document.tenantId, collectionId: document.collectionId },
      document.id,
    );
    await target.store.flush();
  }

  function contentOf(job: IngestDocumentJob): DocumentContent {
    return job.v === 1 ? { kind: 'inline', text: job.text, mediaType: 'text/plain' } : job.content;
  }

  /**
   * The document and version this job builds. A gateway job names both (its row exists); an upstream job
   * names an external id, and its content hash decides between a new document, a new version, and nothing.
   */
  async function resolveDocument(
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
      await applyFields(upserted.document, { titleChanged: upserted.changed.includes('title') });
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

  async function ingest(job: IngestDocumentJob): Promise<JobOutcome> {
    const collection = await resolveCollection(job);
    const kit = await kitFor(collection);
    const loaded = await kit.pipeline.load(contentOf(job));
    const resolved = await resolveDocument(job, collection, loaded.contentHash);
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
    const rows = await buildRows(kit, document, chunks, terms);

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
    kit: CollectionKit,
    document: DocumentRecord,
    chunks: DocumentChunk[],
    terms: ChunkTerms[],
  ): Promise<ChunkVectorRow[]> {
    // BM25 length normalisation uses the collection's average chunk length, this document included, in the
    // terms the statistics count.
    const averageLength = averageChunkLength(
      await readCollectionIndexStats(deps.pool, document.collectionId),
      {
        chunks: chunks.length,
        tokens: terms.reduce((sum, chunk) => sum + chunk.counted.length, 0),
      },
    );
    const sources = chunks.map((chunk) => ({
      chunkId: chunkId(document.id, document.version, chunk.ordinal),
      tenantId: document.tenantId,
      collectionId: document.collectionId,
      documentId: document.id,
      text: chunk.text,
      context: chunk.context,
      metadata: document.metadata,
      acl: document.acl,
    }));
    return buildVectorRows(
      { embeddings: kit.embeddings, embedBatchSize: deps.embedBatchSize },
      kit.store,
      sources,
      averageLength,
    );
  }

  /**
   * Gives a document's vector rows the ACL and metadata PostgreSQL holds now. PostgreSQL changed first and
   * has the last word in every search (its join re-applies the ACL and the metadata filter), so a narrowed
   * ACL hides the document at once and the rows only catch up; a widened one shows it once this has run.
   * The answer cache is moved on afterwards, as answers cached in between were read from the old rows.
   */
  async function applyFields(document: DocumentRecord, change: { titleChanged: boolean }): Promise<void> {
    const scope: VectorScope = { tenantId: document.tenantId, collectionId: document.collectionId };
    await deps.collectionLock.withLock(document.collectionId, async () => {
      // Read under the lock: the fields of the latest change, whichever job came first, and the model the
      // collection is on now.
      const current = await findDocument(deps.pool, document.tenantId, document.id);
      if (!current || current.status === 'deleting') return;
      const kit = await kitOfDocument(current);
      if (!kit) return;
      const store = kit.store;
      await store.updateDocumentFields(scope, current.id, { acl: current.acl, metadata: current.metadata });
      await store.flush();
      // Chunks are embedded and indexed with the title: a new title means indexing them again.
      if (change.titleChanged) {
        await reindexDocument({ ...deps, embeddings: kit.embeddings, store }, current);
      }
      await dropFromReindexTarget(current);
    });
    await bumpIndexVersion(deps.pool, document.collectionId);
  }

  async function updateFields(job: UpdateFieldsJob): Promise<JobOutcome> {
    const document = await findDocument(deps.pool, job.tenantId, job.documentId);
    if (!document || document.status === 'deleting') return 'skipped';
    await applyFields(document, { titleChanged: job.titleChanged === true });
    return 'updated';
  }

  async function deleteDocument(job: DeleteDocumentJob): Promise<JobOutcome> {
    let document: DocumentRecord | undefined;
    if (job.documentId !== undefined) {
      document = await findDocument(deps.pool, job.tenantId, job.documentId);
    } else if (job.v === 2 && job.externalId !== undefined) {
      const collection = await resolveCollection(job);
      document = await findDocumentByExternalId(deps.pool, collection.id, job.externalId);
    }
    if (!document) return 'skipped';
    // Leaves search results at once, and any ingest still running for it stops at its swap.
    await markDocumentDeleting(deps.pool, document.tenantId, document.id);
    const scope = { tenantId: document.tenantId, collectionId: document.collectionId };
    const found = document;
    await deps.collectionLock.withLock(document.collectionId, async (signal) => {
      // The model the collection is on when the lock is held (a reindex may have switched it meanwhile).
      const kit = await kitOfDocument(found);
      if (kit) {
        signal.throwIfAborted();
        await kit.store.deleteByDocument(scope, found.id);
        signal.throwIfAborted();
        await kit.store.flush();
      }
      await dropFromReindexTarget(found);
    });
    await deleteStoredFiles(document);
    await deleteDocumentRow(deps.pool, document.id);
    return 'deleted';
  }

  async function deleteStoredFiles(document: DocumentRecord): Promise<void> {
    if (document.sourceKey) await deps.storage.delete(document.sourceKey);
  }

  async function deleteWholeCollection(job: DeleteCollectionJob): Promise<JobOutcome> {
    const scope = { tenantId: job.tenantId, collectionId: job.collectionId };
    const collection = await findCollectionById(deps.pool, job.tenantId, job.collectionId);
    // Its model's space, the space of a reindex under way (its new model's rows) and that of the model it
    // moved from, whose vectors are kept for a while. A model no longer served leaves its vectors where they
    // are (unreachable: no collection has this id again); the rows go.
    const stores: ChunkVectorStore[] = [];
    const latest = deps.kits && (await findLatestReindex(deps.pool, job.collectionId));
    const other =
      latest?.state === 'running'
        ? latest.to.name
        : latest?.state === 'switched' && latest.oldDroppedAt === null
          ? latest.from?.name
          : undefined;
    const kits = deps.kits;
    const spaces = [
      () => (collection ? kitFor(collection).then((kit) => kit.store) : deps.vectorStore()),
      ...(other && kits ? [() => kits.forModel(other).then((kit) => kit.store)] : []),
    ];
    for (const space of spaces) {
      try {
        stores.push(await space());
      } catch (error) {
        if (error instanceof AppError && (error.code === 'conflict' || error.code === 'not_found')) {
          deps.logger.warn(
            { err: error, collection_id: job.collectionId },
            'collection deleted without its vectors of a model that is not served',
          );
          continue;
        }
        throw error;
      }
    }
    const documentIds = await listDocumentIds(deps.pool, job.collectionId);
    await deps.collectionLock.withLock(job.collectionId, async (signal) => {
      for (const store of stores) {
        for (const documentId of documentIds) {
          signal.throwIfAborted();
          await store.deleteByDocument(scope, documentId);
        }
        signal.throwIfAborted();
        await store.flush();
      }
    });
    for (const documentId of documentIds) {
      const document = await findDocument(deps.pool, job.tenantId, documentId);
      if (document) await deleteStoredFiles(document);
    }
    await deleteCollection(deps.pool, job.collectionId);
    return 'deleted';
  }

  return {
    run(job: IngestJob): Promise<JobOutcome> {
      switch (job.type) {
        case 'ingest':
          return ingest(job);
        case 'delete':
          return deleteDocument(job);
        case 'delete-collection':
          return deleteWholeCollection(job);
        case 'update-fields':
          return updateFields(job);
      }
    },

    /**
     * Records the final failure of an ingest on the document, for callers polling its status, and publishes
     * `document.failed`. A document whose job never got as far as a row (a bad upstream job) has nothing to mark.
     */
    async markFailed(job: IngestJob, message: string): Promise<void> {
      if (job.type !== 'ingest') return;
      await failDocument(await findFailedJobDocument(job), message);
    },

    /**
     * An invalid job may still name a document (e.g. the gateway's row for it): that document shows the
     * reason instead of waiting forever. Only ids that look right are followed.
     */
    async markInvalid(data: unknown, reason: string): Promise<void> {
      const fields = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
      const { tenantId, documentId } = fields;
      if (typeof tenantId !== 'string' || typeof documentId !== 'string') return;
      if (!uuidSchema.safeParse(documentId).success || !tenantIdSchema.safeParse(tenantId).success) return;
      await failDocument(await findDocument(deps.pool, tenantId, documentId), reason);
    },
  };

  async function failDocument(document: DocumentRecord | undefined, message: string): Promise<void> {
    if (!document) return;
    const marked = await transitionDocument(
      deps.pool,
      document.id,
      document.version,
      ['queued', 'processing'],
      {
        status: 'failed',
        error: message,
      },
    );
    if (!marked) return;
    const collection = await findCollectionById(deps.pool, document.tenantId, document.collectionId);
    await deps.events.publish({
      type: 'document.failed',
      status: 'failed',
      tenantId: document.tenantId,
      collection: collection?.name ?? '',
      collectionId: document.collectionId,
      documentId: document.id,
      externalId: document.externalId,
      version: document.version,
      chunks: document.readyVersion === null ? 0 : document.chunkCount,
      error: message,
    });
  }

  async function findFailedJobDocument(job: IngestDocumentJob): Promise<DocumentRecord | undefined> {
    if (job.documentId !== undefined) {
      const document = await findDocument(deps.pool, job.tenantId, job.documentId);
      return document && (job.version === undefined || document.version === job.version)
        ? document
        : undefined;
    }
    if (job.v !== 2 || job.externalId === undefined) return undefined;
    const collection = await findCollectionByName(deps.pool, job.tenantId, job.collection);
    return collection && findDocumentByExternalId(deps.pool, collection.id, job.externalId);
  }
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

export type IngestProcessor = ReturnType<typeof createIngestProcessor>;

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
