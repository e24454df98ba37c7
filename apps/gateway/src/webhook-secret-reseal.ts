import type { Queryable } from '@rag/db/pool';
import { listWebhooks, replaceWebhookSecret } from '@rag/db/webhook-repository';
import type { WebhookSecretCipher } from '@rag/ingest-contract/webhook-secret-cipher';
import type { Logger } from '@rag/telemetry/logger';

/**
 * Seals again, with the current key, every stored webhook secret that an older key sealed or that was
 * stored before secrets were encrypted. The gateway runs it at start, so after a key rotation the old key
 * can be removed once every gateway runs with the new one. Replicas starting together are harmless: each
 * replacement applies only if the stored value is still the one that was read.
 */
export async function resealWebhookSecrets(
  db: Queryable,
  cipher: WebhookSecretCipher,
  logger: Logger,
): Promise<number> {
  let resealed = 0;
  for (const webhook of await listWebhooks(db)) {
    if (!cipher.isStale(webhook.secret)) continue;
    let secret: string;
    try {
      secret = cipher.open(webhook.tenantId, webhook.secret);
    } catch (error) {
      // Deliveries for this tenant fail the same way until the key is configured again or the webhook is set anew.
      logger.error({ tenant: webhook.tenantId, err: error }, 'webhook secret cannot be opened to reseal it');
      continue;
    }
    const next = cipher.seal(webhook.tenantId, secret);
    if (await replaceWebhookSecret(db, webhook.tenantId, webhook.secret, next)) resealed += 1;
  }
  if (resealed > 0)
    logger.info({ resealed, key: cipher.currentKeyId }, 'webhook secrets sealed with the current key');
  return resealed;
}
