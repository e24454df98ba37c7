import { z } from 'zod';

/** POST /v1/collections/{name}/reindex: the served model (GET /v1/models) the collection moves to. */
export const startReindexSchema = z.strictObject({
  model: z.string().min(1).max(256),
});

/** A collection's latest reindex and its progress. */
export const reindexStatusSchema = z.object({
  id: z.string(),
  collection: z.string(),
  /** running: building the new index while the old one serves; switched: the new one serves. */
  state: z.enum(['running', 'switched', 'cancelled', 'failed']),
  from_model: z.string().nullable(),
  to_model: z.string(),
  documents: z.object({ done: z.number().int(), total: z.number().int() }),
  chunks_done: z.number().int(),
  /** Documents embedded per second since the start; null before the first batch. */
  documents_per_second: z.number().nullable(),
  /** Seconds left at that rate; null when not running or not yet known. */
  eta_seconds: z.number().nullable(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  /** After the switch: when the old model's vectors go, and when they went. */
  drop_old_after: z.string().nullable(),
  old_dropped_at: z.string().nullable(),
  error: z.string().nullable(),
});

export type ReindexStatus = z.infer<typeof reindexStatusSchema>;

/** How long after it ended a reindex still shows on its collection (GET /v1/collections, /{name}). */
export const recentReindexSeconds = 24 * 3600;

/**
 * A collection's reindex as the collection routes show it: the running one, or the latest when it ended
 * within recentReindexSeconds; GET /v1/collections/{name}/reindex has the rest (rate, time left).
 */
export const collectionReindexSchema = reindexStatusSchema.pick({
  id: true,
  state: true,
  from_model: true,
  to_model: true,
  documents: true,
  started_at: true,
  finished_at: true,
  error: true,
});

export type CollectionReindex = z.infer<typeof collectionReindexSchema>;
