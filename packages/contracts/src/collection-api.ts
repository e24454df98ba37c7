import { z } from 'zod';
import { collectionNameSchema } from './identifiers.js';
import { collectionReindexSchema } from './reindex-api.js';

/** Public API shapes of collections. */

export const createCollectionSchema = z.strictObject({
  name: collectionNameSchema,
  /**
   * The embedding model its documents and searches use, one of GET /v1/models; recorded with the model's
   * manifest hash. Left out: the stack's default model, whichever that is.
   */
  model: z.string().min(1).max(256).optional(),
});

export const collectionSchema = z.object({
  name: z.string(),
  created_at: z.string(),
  /** The embedding model it is on (null: the stack's default), with its manifest's sha256. */
  model: z.string().nullable(),
  model_manifest_hash: z.string().nullable(),
  /**
   * Its move to another model (POST /v1/collections/{name}/reindex): running, or ended within the last day;
   * null otherwise (and when a gateway from before reindexing leaves it out).
   */
  reindex: collectionReindexSchema.nullable().default(null),
});

export const collectionListSchema = z.object({ collections: z.array(collectionSchema) });

export const collectionDeletionSchema = z.object({ name: z.string(), status: z.literal('deleting') });

/** A collection with what the caller may see of it: documents by status, chunks searches see, last change. */
export const collectionSummarySchema = collectionSchema.extend({
  documents: z.object({
    total: z.number().int(),
    queued: z.number().int(),
    processing: z.number().int(),
    ready: z.number().int(),
    failed: z.number().int(),
    deleting: z.number().int(),
  }),
  chunks: z.number().int(),
  /** When a document of it last changed; null while it has none. */
  last_changed_at: z.string().nullable(),
});
