import { commaListSchema } from '@rag/config/base-settings';
import { group, plain, secret } from '@rag/config/settings';
import { z } from 'zod';
import { parseWebhookSecretKeys } from './webhook-secret-cipher.js';

/**
 * Operator settings for tenants' webhooks, read alike by the gateway (which checks a URL when it is set)
 * and the worker (which checks it again and delivers):
 * - WEBHOOK_ALLOWED_HOSTS: comma-separated host names exempt from the address check (own receivers);
 * - WEBHOOK_ALLOW_PRIVATE: `true` allows loopback, private, link-local and CGNAT addresses and plain http;
 * - WEBHOOK_SECRET_KEY (or _FILE): `<id>:<base64 32 bytes>` keys for the stored signing secrets, the sealing
 *   key first. Unset, the key is derived from SERVICE_TOKEN.
 */
export const webhookSettingsFields = {
  allowedHosts: plain(
    'WEBHOOK_ALLOWED_HOSTS',
    commaListSchema.transform((hosts) => hosts.map((host) => host.toLowerCase())),
  ),
  allowPrivate: plain(
    'WEBHOOK_ALLOW_PRIVATE',
    z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
  ),
  secretKeys: secret(
    'WEBHOOK_SECRET_KEY',
    z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return undefined;
        try {
          return parseWebhookSecretKeys(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
  ),
};

export const webhookSettings = group(webhookSettingsFields);
