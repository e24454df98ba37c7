import { isAppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import {
  pinnedLookup,
  type ResolvedAddress,
  redactWebhookUrl,
  resolveWebhookTarget,
  type WebhookTargetPolicy,
} from './webhook-target.js';

const dns = (answers: Record<string, string[]>) => async (hostname: string) =>
  (answers[hostname] ?? []).map(
    (address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }),
  );
const strict: WebhookTargetPolicy = {
  allowedHosts: [],
  allowPrivate: false,
  resolve: dns({
    'hooks.example.com': ['93.184.216.34'],
    'rebind.example.com': ['93.184.216.34', '127.0.0.1'],
  }),
};

async function refusal(url: string, policy: WebhookTargetPolicy = strict): Promise<string> {
  try {
    await resolveWebhookTarget(url, policy);
    return 'allowed';
  } catch (error) {
    if (!isAppError(error) || error.code !== 'validation_failed') throw error;
    return error.message;
  }
}

describe('resolveWebhookTarget', () => {
  it('accepts an https URL whose host resolves to public addresses, and returns the address to connect to', async () => {
    const target = await resolveWebhookTarget('https://hooks.example.com/in', strict);
    expect(target.address).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it.each([
    'https://127.0.0.1/x',
    'https://127.1/x',
    'https://0x7f000001/x',
    'https://2130706433/x',
    'https://017700000001/x',
    'https://[::1]/x',
    'https://[::ffff:127.0.0.1]/x',
    'https://[::ffff:7f00:1]/x',
    'https://[64:ff9b::7f00:1]/x',
    'https://0.0.0.0/x',
    'https://[::]/x',
  ])('refuses the loopback or unspecified literal %s', async (url) => {
    expect(await refusal(url)).toMatch(
      /is (a loopback address|the unspecified address); webhooks may only reach public/,
    );
  });

  it.each([
    ['https://169.254.169.254/latest/meta-data', /cloud metadata/],
    ['https://[fd00:ec2::254]/', /cloud metadata/],
    ['https://10.0.0.8/', /private-network/],
    ['https://[fc00::1]/', /private-network/],
    ['https://100.64.1.1/', /carrier-grade NAT/],
    ['https://169.254.10.1/', /link-local/],
    ['https://[fe80::1]/', /link-local/],
    ['https://224.0.0.1/', /multicast/],
    ['https://255.255.255.255/', /broadcast/],
  ])('refuses %s', async (url, reason) => {
    expect(await refusal(url)).toMatch(reason);
  });

  it('refuses a name that resolves to loopback through the system resolver (localhost)', async () => {
    const { resolve: _injected, ...systemPolicy } = strict;
    expect(await refusal('https://localhost:8443/hook', systemPolicy)).toMatch(
      /localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
  });

  it('refuses a name when any of its addresses is internal', async () => {
    expect(await refusal('https://rebind.example.com/x')).toMatch(/resolves to 127\.0\.0\.1, a loopback/);
  });

  it('refuses plain http, other schemes and names that do not resolve', async () => {
    expect(await refusal('http://hooks.example.com/x')).toMatch(/must use https/);
    expect(await refusal('ftp://hooks.example.com/x')).toMatch(/must use https/);
    expect(await refusal('https://nowhere.example.com/x')).toMatch(/does not resolve/);
  });

  it('lets the operator allow private addresses and http, but never metadata, multicast or unspecified', async () => {
    const open: WebhookTargetPolicy = { ...strict, allowPrivate: true };
    expect(await refusal('http://127.0.0.1:9000/x', open)).toBe('allowed');
    expect(await refusal('http://10.1.2.3/x', open)).toBe('allowed');
    expect(await refusal('http://169.254.169.254/x', open)).toMatch(/cloud metadata/);
    expect(await refusal('http://0.0.0.0/x', open)).toMatch(/unspecified/);
  });

  it('exempts operator-allowed hosts from the address check', async () => {
    const allowed: WebhookTargetPolicy = { ...strict, allowedHosts: ['receiver.internal'] };
    await expect(resolveWebhookTarget('https://RECEIVER.internal/x', allowed)).resolves.toMatchObject({
      address: null,
    });
    expect(await refusal('https://other.internal/x', allowed)).toMatch(/does not resolve/);
  });
});

describe('pinnedLookup', () => {
  it('answers every lookup with the checked address, in both callback shapes', () => {
    const lookup = pinnedLookup({ address: '93.184.216.34', family: 4 });
    const single: unknown[] = [];
    lookup('anything.example', {}, (...args: unknown[]) => single.push(...args));
    expect(single).toEqual([null, '93.184.216.34', 4]);
    const all: unknown[] = [];
    lookup('anything.example', { all: true }, (...args: unknown[]) => all.push(...args));
    expect(all).toEqual([null, [{ address: '93.184.216.34', family: 4 }]]);
  });
});

describe('redactWebhookUrl', () => {
  it('drops credentials, query and fragment', () => {
    expect(redactWebhookUrl('https://user:pw@hooks.example.com:8443/in?token=abc#x')).toBe(
      'https://hooks.example.com:8443/in',
    );
  });
});
