import type { Pool } from '@rag/db/pool';
import { findWebhook } from '@rag/db/webhook-repository';
import {
  type IngestEvent,
  ingestEventSchema,
  ingestEventsQueueName,
} from '@rag/ingest-contract/ingest-event';
import { completedJobRetention, failedJobRetention } from '@rag/ingest-contract/job-retention';
import { postSignedEvent } from '@rag/ingest-contract/webhook-post';
import type { WebhookSecretCipher } from '@rag/ingest-contract/webhook-secret-cipher';
import {
  isUnresolvableHost,
  redactWebhookUrl,
  resolveWebhookTarget,
  type WebhookTarget,
  type WebhookTargetPolicy,
} from '@rag/ingest-contract/webhook-target';
import type { RedisConnection } from '@rag/redis/redis-connection';
import type { Logger } from '@rag/telemetry/logger';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';

/** Webhook deliveries wait on this queue, so a slow or failing receiver never holds up ingestion. */
export const webhookQueueName = 'ingest-webhooks';

export interface CompletionEvents {
  publish(event: Omit<IngestEvent, 'v' | 'id' | 'at'>): Promise<void>;
  close(): Promise<void>;
}

export interface CompletionEventsOptions {
  connection: RedisConnection;
  prefix: string;
  pool: Pool;
  /** Delivery attempts per webhook event (exponential backoff with jitter between them). */
  webhookAttempts: number;
  webhookBackoffMs: number;
}

/**
 * Publishes `document.ready` / `document.failed`: onto the `ingest-events` queue for upstream consumers,
 * and as a webhook delivery job when the tenant configured a webhook. Both are keyed by the event id, so a
 * job that runs twice (a crash between publishing and finishing) publishes once.
 */
export function createCompletionEvents(options: CompletionEventsOptions): CompletionEvents {
  const events = new Queue(ingestEventsQueueName, { connection: options.connection, prefix: options.prefix });
  const webhooks = new Queue(webhookQueueName, { connection: options.connection, prefix: options.prefix });
  return {
    async publish(fields) {
      const event = ingestEventSchema.parse({
        v: 1,
        id: `${fields.documentId}-v${fields.version}-${fields.status}`,
        at: new Date().toISOString(),
        ...fields,
      });
      await events.add(event.type, event, {
        jobId: event.id,
        // Events carry ids and counts, no text; bounded in age and number like every ended job.
        removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      });
      if (await findWebhook(options.pool, event.tenantId)) {
        await webhooks.add(event.type, event, {
          jobId: event.id,
          attempts: options.webhookAttempts,
          backoff: { type: 'exponential', delay: options.webhookBackoffMs, jitter: 0.5 },
          removeOnComplete: completedJobRetention,
          removeOnFail: failedJobRetention,
        });
      }
    },
    async close() {
      await events.close();
      await webhooks.close();
    },
  };
}

/**
 * Delivers webhook jobs: POSTs the event, signed with the tenant's current secret, and treats anything but
 * a 2xx as a failure for BullMQ to retry. A tenant that removed its webhook meanwhile gets nothing. The URL
 * is checked against the target policy again right before each delivery (its name may resolve elsewhere
 * since it was set), and the request goes to the checked address. Logs and errors show the URL without
 * credentials or query.
 */
export function createWebhookDeliveryWorker(options: {
  connection: RedisConnection;
  prefix: string;
  pool: Pool;
  logger: Logger;
  timeoutMs: number;
  targets: WebhookTargetPolicy;
  cipher: WebhookSecretCipher;
}): Worker {
  async function deliver(job: Job<IngestEvent>): Promise<string> {
    const event = job.data;
    const webhook = await findWebhook(options.pool, event.tenantId);
    if (!webhook) return 'no webhook';
    const shownUrl = redactWebhookUrl(webhook.url);
    let target: WebhookTarget;
    try {
      target = await resolveWebhookTarget(webhook.url, options.targets);
    } catch (error) {
      if (isUnresolvableHost(error)) throw new Error(`Webhook ${shownUrl}: ${(error as Error).message}`);
      options.logger.warn({ event_id: event.id, url: shownUrl, err: error }, 'webhook target refused');
      throw new UnrecoverableError(`Webhook ${shownUrl} refused: ${(error as Error).message}`);
    }
    const secret = options.cipher.open(event.tenantId, webhook.secret);
    let status: number;
    try {
      status = await postSignedEvent(target, secret, event, options.timeoutMs);
    } catch (error) {
      throw new Error(`Webhook ${shownUrl} unreachable: ${(error as Error).message}`);
    }
    if (status >= 200 && status < 300) {
      options.logger.info({ event_id: event.id, status }, 'webhook delivered');
      return `delivered ${status}`;
    }
    // A receiver that refuses the request itself (other than rate limiting) will not change its mind.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new UnrecoverableError(`Webhook ${shownUrl} refused the event with ${status}`);
    }
    throw new Error(`Webhook ${shownUrl} answered ${status}`);
  }
  return new Worker(webhookQueueName, deliver, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: 4,
    autorun: false,
  });
}
