import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { AppError, isAppError } from '@rag/contracts/app-error';
import { type AddressClass, addressClassNames, classifyAddress, privateClasses } from './ip-address-class.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Where a tenant's webhook may point: the operator's settings (WEBHOOK_ALLOWED_HOSTS, WEBHOOK_ALLOW_PRIVATE). */
export interface WebhookTargetPolicy {
  /** Host names exempt from the address check: the operator's own receivers (lowercase). */
  allowedHosts: readonly string[];
  /** Private, loopback, link-local and CGNAT addresses, and plain http, are allowed (in-cluster receivers). */
  allowPrivate: boolean;
  /** Every address of a host name; the system resolver unless a test injects another. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

/** A checked webhook destination: connect to `address` (when set) and nowhere else. */
export interface WebhookTarget {
  url: URL;
  /** The checked address to connect to; null for an operator-allowed host, which resolves as usual. */
  address: ResolvedAddress | null;
}

const systemResolve = async (hostname: string): Promise<ResolvedAddress[]> =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * Checks a webhook URL against the policy and resolves its host, so that a tenant cannot make the system
 * call into its own network (SSRF): every address the name resolves to must be public. Run it when the
 * webhook is set and again right before each delivery (the name may resolve elsewhere by then), and send
 * the delivery to the returned address, so that a second DNS answer cannot differ from the checked one.
 * Refusals are 422 problems naming the reason.
 */
export async function resolveWebhookTarget(url: string, policy: WebhookTargetPolicy): Promise<WebhookTarget> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('The webhook URL is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && policy.allowPrivate)) {
    throw refuse(
      parsed.protocol === 'http:'
        ? 'The webhook URL must use https (this installation does not allow plain http receivers)'
        : 'The webhook URL must use https',
    );
  }
  // The URL parser has already normalized IPv4 spellings (0x7f000001, 127.1) to dotted form.
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (policy.allowedHosts.includes(hostname)) return { url: parsed, address: null };

  const literal = classifyAddress(hostname);
  let addresses: ResolvedAddress[];
  if (literal !== undefined) {
    addresses = [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolve)(hostname);
    } catch (error) {
      throw unresolvable(hostname, error);
    }
    if (addresses.length === 0) throw unresolvable(hostname);
  }
  for (const resolved of addresses) {
    const kind: AddressClass = classifyAddress(resolved.address) ?? 'reserved';
    if (kind === 'public' || (policy.allowPrivate && privateClasses.has(kind))) continue;
    const via = literal === undefined ? `resolves to ${resolved.address}, ` : 'is ';
    throw refuse(
      `The webhook host ${hostname} ${via}${addressClassNames[kind]}; webhooks may only reach public addresses`,
    );
  }
  return { url: parsed, address: addresses[0]! };
}

/**
 * A `lookup` for http(s).request that answers with the checked address whatever the name, so that the
 * connection goes where the check looked (no second DNS query to rebind). TLS still verifies the name.
 */
export function pinnedLookup(address: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) {
      (callback as (error: null, addresses: ResolvedAddress[]) => void)(null, [address]);
    } else {
      callback(null, address.address, address.family);
    }
  };
}

/** The URL as logs and audit may show it: no credentials, query or fragment (they often carry tokens). */
export function redactWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A name that does not resolve now may resolve later: deliveries retry it, other refusals they do not. */
export function isUnresolvableHost(error: unknown): boolean {
  return isAppError(error) && error.context.reason === 'unresolvable host';
}

function unresolvable(hostname: string, cause?: unknown): AppError {
  return new AppError('validation_failed', `The webhook host ${hostname} does not resolve`, {
    cause,
    context: { reason: 'unresolvable host' },
  });
}

function refuse(message: string): AppError {
  return new AppError('validation_failed', message);
}
