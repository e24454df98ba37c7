import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { clientAddress, parseTrustedProxies } from './client-address.js';

const request = (peer: string, forwarded?: string) =>
  ({
    socket: { remoteAddress: peer },
    get: (name: string) => (name.toLowerCase() === 'x-forwarded-for' ? forwarded : undefined),
  }) as unknown as Request;

describe('client address', () => {
  const ingress = parseTrustedProxies('10.0.0.0/8, fd00::/8');

  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const none = parseTrustedProxies('');
    expect(clientAddress(request('203.0.113.9', '198.51.100.1'), none)).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For sent by an untrusted peer', () => {
    expect(clientAddress(request('203.0.113.9', '198.51.100.1'), ingress)).toBe('203.0.113.9');
  });

  it('takes the address the trusted proxy saw, not what the client prepended', () => {
    expect(clientAddress(request('10.1.2.3', '1.1.1.1, 198.51.100.7'), ingress)).toBe('198.51.100.7');
  });

  it('skips every trusted hop from the right', () => {
    expect(clientAddress(request('10.1.2.3', '198.51.100.7, 10.9.9.9, fd00::1'), ingress)).toBe(
      '198.51.100.7',
    );
  });

  it('reads IPv4-mapped peers of a dual-stack socket as IPv4', () => {
    expect(clientAddress(request('::ffff:10.1.2.3', '198.51.100.7'), ingress)).toBe('198.51.100.7');
    expect(clientAddress(request('::ffff:203.0.113.9', '198.51.100.7'), ingress)).toBe('203.0.113.9');
  });

  it('stops at a malformed hop and keeps the last address it could trust', () => {
    expect(clientAddress(request('10.1.2.3', '198.51.100.7, not-an-ip'), ingress)).toBe('10.1.2.3');
  });

  it('is the last trusted hop when every hop is trusted', () => {
    expect(clientAddress(request('10.1.2.3', '10.4.4.4'), ingress)).toBe('10.4.4.4');
    expect(clientAddress(request('10.1.2.3'), ingress)).toBe('10.1.2.3');
  });

  it('refuses an entry that is not an address or CIDR, naming it', () => {
    expect(() => parseTrustedProxies('10.0.0.0/8, ingress')).toThrow('"ingress"');
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow('"10.0.0.0/33"');
    expect(() => parseTrustedProxies('10.0.0.0/8/1')).toThrow('"10.0.0.0/8/1"');
  });
});
