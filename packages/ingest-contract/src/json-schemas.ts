import { z } from 'zod';
import { deadLetterSchema } from './dead-letter.js';
import { ingestEventSchema } from './ingest-event.js';
import { ingestJobV2Schema } from './ingest-job.js';

/**
 * The JSON Schema files under schema/ for producers and consumers in other languages. They are generated
 * from the zod schemas (`pnpm --filter @rag/ingest-contract json-schema`) and a test keeps them current.
 */
export function ingestJsonSchemas(): Record<string, unknown> {
  return {
    'ingest-job.v2.schema.json': document(
      'https://rag-system.local/schemas/ingest-job.v2.schema.json',
      'A version 2 job of the BullMQ queue "ingest"',
      ingestJobV2Schema,
    ),
    'ingest-event.v1.schema.json': document(
      'https://rag-system.local/schemas/ingest-event.v1.schema.json',
      'A completion event of the BullMQ queue "ingest-events" and of tenant webhooks',
      ingestEventSchema,
    ),
    'dead-letter.v1.schema.json': document(
      'https://rag-system.local/schemas/dead-letter.v1.schema.json',
      'A job of the BullMQ queue "ingest-dead-letter"',
      deadLetterSchema,
    ),
  };
}

function document(id: string, title: string, schema: z.ZodType): unknown {
  // Producers write the input shape: fields with defaults may be left out.
  return { $id: id, title, ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) };
}
