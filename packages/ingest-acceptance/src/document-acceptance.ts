import { createHash } from 'node:crypto';
import { type DocumentRecord, setDocumentSource } from '@rag/db/document-repository';
import { type UpsertOutcome, upsertDocument } from '@rag/db/document-version';
import type { Pool } from '@rag/db/pool';
import type { ObjectStorage } from '@rag/storage/object-storage';

export interface AcceptanceDeps {
  pool: Pool;
  storage: ObjectStorage;
}

/** A document as its producer sends it (over HTTP or as an upstream queue job). */
export interface DocumentSubmission {
  tenantId: string;
  collectionId: string;
  /** The producer's id: the same external id again is the same document. */
  externalId: string | null;
  /** Our id of a document that exists (an upstream job may name it instead of an external id). */
  documentId?: string | undefined;
  title: string | null;
  metadata: Record<string, unknown>;
  /** Who may see it; an empty list is the same as none. */
  acl: string[] | null;
  content: SubmittedContent;
  /**
   * Whether the sender may see an existing document (its ACL). One it may not see is neither read, changed
   * nor described: its external id is a conflict.
   */
  canSee?: (existing: DocumentRecord) => boolean;
}

export type SubmittedContent =
  /** Text sent as such: hashed here. */
  | { kind: 'text'; text: string; mediaType: string }
  /** A file in object storage, hashed by whoever read it. */
  | {
      kind: 'stored';
      key: string;
      contentHash: string;
      mediaType: string | null;
      filename: string | null;
      /**
       * Put there for this submission (an upload): removed when the document keeps content it already has.
       * An upstream producer's own object is never removed for that.
       */
      upload: boolean;
    };

/**
 * What became of a submission: a version to build (`created`, `new-version`), or the same content again
 * (`unchanged`, or `fields-updated` when another title, metadata or ACL changed in place); a document with the
 * same content may still be queued, building or failed.
 */
export type Acceptance =
  | { outcome: 'created' | 'new-version'; document: DocumentRecord }
  | Exclude<UpsertOutcome, { outcome: 'created' | 'new-version' }>;

/**
 * Accepts a document: its content hash decides between a new document, the next version of the one with the
 * same external id (or id), and nothing (the same content, where another title, metadata or ACL is applied in
 * place). Sources follow the decision: a new version's predecessor's stored file goes, and an upload of
 * content the document already has goes too. What is built afterwards, and how, is the caller's: the gateway
 * queues a job (`queued-acceptance.ts`), the worker builds an upstream job's document at once.
 */
export async function acceptDocument(
  deps: AcceptanceDeps,
  submission: DocumentSubmission,
): Promise<Acceptance> {
  const { content } = submission;
  const source =
    content.kind === 'stored'
      ? { sourceKey: content.key, mediaType: content.mediaType, filename: content.filename }
      : { sourceKey: null, mediaType: content.mediaType, filename: null };
  const upserted = await upsertDocument(
    deps.pool,
    {
      tenantId: submission.tenantId,
      collectionId: submission.collectionId,
      externalId: submission.externalId,
      title: submission.title,
      contentHash: contentHashOf(content),
      metadata: submission.metadata,
      acl: submission.acl && submission.acl.length > 0 ? submission.acl : null,
      source,
    },
    {
      existingId: submission.documentId,
      ...(submission.canSee ? { canSee: submission.canSee } : {}),
    },
  );
  if (upserted.outcome === 'created' || upserted.outcome === 'new-version') {
    const previous = upserted.previousSourceKey;
    if (previous && previous !== source.sourceKey) await deps.storage.delete(previous);
    return { outcome: upserted.outcome, document: upserted.document };
  }
  const document = await keepOrDiscardUpload(deps, upserted.document, content);
  return { ...upserted, document };
}

/** The SHA-256 that identifies content: of text's UTF-8 bytes, or what the reader of a stored file took. */
export function contentHashOf(content: SubmittedContent): string {
  return content.kind === 'text'
    ? createHash('sha256').update(content.text).digest('hex')
    : content.contentHash;
}

/**
 * An upload of content the document already has is not needed: it goes. Except for a failed document whose
 * content has no stored copy (its text travelled only in its job): the upload, the same bytes, becomes the
 * copy its next attempt reads.
 */
async function keepOrDiscardUpload(
  deps: AcceptanceDeps,
  document: DocumentRecord,
  content: SubmittedContent,
): Promise<DocumentRecord> {
  if (content.kind !== 'stored' || !content.upload || content.key === document.sourceKey) return document;
  if (document.sourceKey === null && document.status === 'failed') {
    if (await setDocumentSource(deps.pool, document.id, document.version, content.key)) {
      return { ...document, sourceKey: content.key };
    }
  }
  await deps.storage.delete(content.key);
  return document;
}
