import { aclAllows } from '@rag/auth/acl';
import type { Principal } from '@rag/auth/principal';
import { AppError, isAppError, toAppError } from '@rag/contracts/app-error';
import {
  batchDocumentsSchema,
  type CreateDocumentRequest,
  createDocumentSchema,
} from '@rag/contracts/public-api';
import type { Collection } from '@rag/db/collection-repository';
import { parseInput } from '@rag/http/validate';
import type { SubmittedContent } from '@rag/ingest-acceptance/document-acceptance';
import { acceptAndQueue, type QueuedAcceptance } from '@rag/ingest-acceptance/queued-acceptance';
import { type Request, Router } from 'express';
import { resolveCollection } from '../collection-access.js';
import { receiveUpload } from '../document-upload.js';
import { mountRoute, pathParam } from '../mount-route.js';
import type { DocumentRouteDeps } from './document-routes.js';

/** What a document carries besides its content, from a JSON body or an upload's fields. */
type DocumentFields = Omit<CreateDocumentRequest, 'text'>;
const documentFieldsSchema = createDocumentSchema.omit({ text: true });

/**
 * Document intake over HTTP: a JSON body, a batch of them, or a file upload, each accepted by
 * `@rag/ingest-acceptance` (the same rules as upstream queue jobs), which queues the version's build.
 */
export function documentIntakeRoutes(deps: DocumentRouteDeps): Router {
  const router = Router();

  /**
   * Adds a document or a new version of it. The same content again (by hash) is a no-op answered with 200,
   * except that another title, metadata or ACL sent with it is applied in place; other content under the
   * same external_id becomes the next version, which replaces the current one for searchers once it is
   * ready. A document the caller may not see (its ACL) is never touched: its external_id is a conflict.
   */
  function accept(
    principal: Principal,
    collection: Collection,
    fields: DocumentFields,
    content: SubmittedContent,
  ): Promise<QueuedAcceptance> {
    return acceptAndQueue(deps, collection, {
      tenantId: principal.tenantId,
      externalId: fields.external_id ?? null,
      title: fields.title ?? null,
      metadata: fields.metadata ?? {},
      acl: fields.acl ?? null,
      content,
      canSee: (existing) => aclAllows(existing.acl, principal.principals),
    });
  }

  mountRoute(router, 'post', '/v1/collections/{name}/documents', async (req, res, principal) => {
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    let accepted: QueuedAcceptance;
    if (req.is('multipart/form-data')) {
      const upload = await receiveUpload(req, deps.storage, `uploads/${principal.tenantId}`, deps.upload);
      try {
        accepted = await accept(principal, collection, uploadFields(upload.fields), {
          kind: 'stored',
          key: upload.file.key,
          contentHash: upload.file.sha256,
          mediaType: upload.file.declaredType || null,
          filename: upload.file.filename,
          upload: true,
        });
      } catch (error) {
        await deps.storage.delete(upload.file.key).catch(() => {});
        throw error;
      }
    } else {
      requireJsonBody(req);
      const body = parseInput(createDocumentSchema, req.body);
      accepted = await accept(principal, collection, body, textOf(body));
    }
    if (accepted.status === 202) res.location(statusUrl(accepted.document.id));
    res.status(accepted.status).json(acceptedBody(accepted));
  });

  mountRoute(router, 'post', '/v1/collections/{name}/documents/batch', async (req, res, principal) => {
    requireJsonBody(req);
    const collection = await resolveCollection(deps.pool, principal, pathParam(req, 'name'));
    const { documents } = parseInput(batchDocumentsSchema, req.body);
    const results = [];
    // One after another: a batch is one caller's work and should not take every database connection.
    for (const [index, item] of documents.entries()) {
      try {
        const body = parseInput(createDocumentSchema, item, `document ${index}`);
        const accepted = await accept(principal, collection, body, textOf(body));
        results.push({ index, status: accepted.status, ...acceptedBody(accepted, 'document_status') });
      } catch (thrown) {
        const error = toAppError(thrown);
        // Outages fail the whole request (retry it); a bad document only fails its own entry.
        if (!isAppError(thrown) || error.status >= 500) throw thrown;
        const issues = error.context.issues as Array<{ path: string; message: string }> | undefined;
        results.push({
          index,
          status: error.status,
          code: error.code,
          detail: error.message,
          ...(issues ? { errors: issues } : {}),
        });
      }
    }
    res.status(200).json({
      results,
      accepted: results.filter((r) => r.status === 202).length,
      unchanged: results.filter((r) => r.status === 200).length,
      rejected: results.filter((r) => r.status >= 400).length,
    });
  });

  return router;
}

function textOf(body: CreateDocumentRequest): SubmittedContent {
  return { kind: 'text', text: body.text, mediaType: body.media_type ?? 'text/plain' };
}

export function requireJsonBody(req: Request): void {
  if (!req.is(['application/json', 'application/*+json'])) {
    throw new AppError(
      'unsupported_media_type',
      'Send the body as application/json, or a file as multipart/form-data',
    );
  }
}

/**
 * An upload's fields: `document` holding the JSON fields (external_id, title, metadata, acl), or the simple
 * ones (external_id, title) as separate form fields.
 */
function uploadFields(fields: Record<string, string>): DocumentFields {
  let raw: unknown = {};
  if (fields.document !== undefined) {
    try {
      raw = JSON.parse(fields.document);
    } catch {
      throw new AppError('validation_failed', 'The "document" field must be a JSON object');
    }
  }
  const simple = Object.fromEntries(
    ['external_id', 'title'].filter((name) => fields[name] !== undefined).map((name) => [name, fields[name]]),
  );
  return parseInput(
    documentFieldsSchema.omit({ media_type: true }),
    { ...(raw as object), ...simple },
    'upload fields',
  );
}

export function statusUrl(id: string): string {
  return `/v1/documents/${id}`;
}

/** What a caller reads about an accepted document (a batch's entries name its status `document_status`). */
function acceptedBody({ document, fieldsUpdated }: QueuedAcceptance, statusName = 'status') {
  return {
    id: document.id,
    version: document.version,
    [statusName]: document.status,
    status_url: statusUrl(document.id),
    ...(fieldsUpdated ? { fields_updated: fieldsUpdated } : {}),
  };
}
