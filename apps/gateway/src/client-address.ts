import { BlockList, isIP } from 'node:net';
import type { Request } from 'express';

/**
 * The proxies (load balancers, the ingress) whose `X-Forwarded-For` is believed. Only a hop that is itself
 * trusted may name the one before it, so a client cannot pick its own rate-limit bucket by sending the header.
 */
export interface TrustedProxies {
  contains(address: string): boolean;
}

/** Parses a comma-separated CIDR list ("10.0.0.0/8, fd00::/8", or a bare address for one host). */
export function parseTrustedProxies(list: string): TrustedProxies {
  const blocks = new BlockList();
  for (const entry of list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    if (
      family === 0 ||
      extra !== undefined ||
      !/^\d{1,3}$/.test(prefix ?? '0') ||
      bits > (family === 6 ? 128 : 32)
    ) {
      throw new Error(`"${entry}" is not an IP address or CIDR block (e.g. 10.0.0.0/8 or fd00::/8)`);
    }
    blocks.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { contains: (address) => contains(blocks, address) };
}

function contains(blocks: BlockList, address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  return family !== 0 && blocks.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

/** A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; CIDRs are written for the IPv4 form. */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4
    ? address.slice(7)
    : address;
}

/**
 * The address of the client: the socket peer, unless that peer is a trusted proxy; then X-Forwarded-For
 * is read from the right (each trusted proxy appends the address it saw), skipping trusted hops, and the
 * first untrusted address is the client. Entries left of it were written by the client and are ignored.
 */
export function clientAddress(req: Request, trusted: TrustedProxies): string {
  let address = unmapped(req.socket.remoteAddress ?? 'unknown');
  if (!trusted.contains(address)) return address;
  const forwarded = (req.get('x-forwarded-for') ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i -= 1) {
    const hop = unmapped(forwarded[i]!);
    // A malformed hop cannot be trusted to name anything further left: it is the client as far as we know.
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trusted.contains(hop)) return address;
  }
  return address;
}
