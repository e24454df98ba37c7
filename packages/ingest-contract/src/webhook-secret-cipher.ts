import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Webhook signing secrets are stored encrypted (AES-256-GCM), so a database dump or backup alone does not
 * let anyone forge deliveries. Each stored value names the key that sealed it:
 * `aesgcm1:<key id>:<base64url(iv | ciphertext | tag)>`, bound to its tenant (as associated data) so a
 * value copied onto another tenant's row does not decrypt. Several keys may be configured at once: the
 * first seals, all open, which is how keys rotate.
 */
export interface WebhookSecretKey {
  id: string;
  key: Buffer;
}

export interface WebhookSecretCipher {
  /** Key id of the key new secrets are sealed with. */
  readonly currentKeyId: string;
  seal(tenantId: string, secret: string): string;
  /** The secret; throws naming the key when it is not configured or the value was tampered with. */
  open(tenantId: string, stored: string): string;
  /** Whether the stored value should be sealed again with the current key (older key, or plaintext). */
  isStale(stored: string): boolean;
}

const prefix = 'aesgcm1';

/**
 * Parses `WEBHOOK_SECRET_KEY`: comma-separated `<id>:<base64 of 32 bytes>` entries, the sealing key first.
 * Throws naming the problem (the key material itself is never echoed).
 */
export function parseWebhookSecretKeys(value: string): WebhookSecretKey[] {
  const keys = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const colon = entry.indexOf(':');
      const id = colon > 0 ? entry.slice(0, colon) : '';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
        throw new Error(`entry ${index + 1} must be <id>:<base64 key> with an id of letters, digits, _ . -`);
      }
      const key = Buffer.from(entry.slice(colon + 1), 'base64');
      if (key.length !== 32)
        throw new Error(`key "${id}" must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('must name at least one key');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be distinct');
  return keys;
}

/**
 * The key used when no WEBHOOK_SECRET_KEY is configured: derived from the service token, a secret the
 * gateway and the worker already share and that lives outside the database. Its id carries a fingerprint,
 * so a changed service token reads as an unknown key rather than as tampering.
 */
export function deriveWebhookSecretKey(serviceToken: string): WebhookSecretKey {
  const key = Buffer.from(hkdfSync('sha256', serviceToken, 'rag-webhook-secrets', 'aes-256-gcm', 32));
  const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return { id: `service-token-${fingerprint}`, key };
}

/**
 * The keys a service uses: the configured ones (the first seals), then the one derived from the service
 * token, which only opens: values sealed before WEBHOOK_SECRET_KEY was set keep working until the gateway
 * has sealed them again with the configured key.
 */
export function webhookSecretKeys(
  configured: WebhookSecretKey[] | undefined,
  serviceToken: string,
): WebhookSecretKey[] {
  const derived = deriveWebhookSecretKey(serviceToken);
  if (!configured) return [derived];
  return configured.some((k) => k.id === derived.id) ? configured : [...configured, derived];
}

export function createWebhookSecretCipher(keys: WebhookSecretKey[]): WebhookSecretCipher {
  const current = keys[0];
  if (!current) throw new Error('at least one webhook secret key is needed');
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  return {
    currentKeyId: current.id,
    seal(tenantId, secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(tenantId, 'utf8'));
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${prefix}:${current.id}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(tenantId, stored) {
      const parts = stored.split(':');
      // Rows written before secrets were encrypted hold the secret itself until they are sealed again.
      if (parts.length !== 3 || parts[0] !== prefix) return stored;
      const [, id, payload] = parts as [string, string, string];
      const key = byId.get(id);
      if (!key) throw new Error(`The webhook secret is sealed with key "${id}", which is not configured`);
      const raw = Buffer.from(payload, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(tenantId, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      try {
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new Error(`The webhook secret does not decrypt with key "${id}" (wrong key or altered value)`);
      }
    },
    isStale(stored) {
      const parts = stored.split(':');
      return parts.length !== 3 || parts[0] !== prefix || parts[1] !== current.id;
    },
  };
}
