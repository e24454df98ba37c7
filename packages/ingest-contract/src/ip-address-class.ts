/**
 * What kind of network an IP address belongs to, for deciding whether a tenant-supplied URL may be called
 * from inside the cluster. Every spelling of an address is read the way the C resolver reads it
 * (`127.1`, `0x7f000001`, `2130706433`, `[::ffff:127.0.0.1]`, `fe80::1%eth0`), and IPv6 forms that carry
 * an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that IPv4 address.
 */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared'
  | 'metadata'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'reserved';

/** Classes an operator may open with WEBHOOK_ALLOW_PRIVATE; the others are never a webhook receiver. */
export const privateClasses: ReadonlySet<AddressClass> = new Set([
  'loopback',
  'private',
  'link-local',
  'shared',
]);

export const addressClassNames: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  shared: 'a carrier-grade NAT (shared) address',
  metadata: 'a cloud metadata address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

/** The class of an IP address literal, or undefined when the text is not one (a host name). */
export function classifyAddress(text: string): AddressClass | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (bare.includes(':')) {
    const bytes = parseIpv6(bare);
    return bytes && classifyIpv6(bytes);
  }
  const bytes = parseIpv4(bare);
  return bytes && classifyIpv4(bytes);
}

/** inet_aton: one to four parts, each decimal, octal (leading 0) or hex (0x); the last fills the rest. */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
    else if (/^0[0-7]*$/.test(part)) value = Number.parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) value = Number(part);
    else return undefined;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 256 ** (4 - values.length)) return undefined;
  const bytes = [...values];
  for (let i = 4 - values.length - 1; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return bytes;
}

function parseIpv6(text: string): number[] | undefined {
  let head = text;
  let tail: string[] = [];
  // A trailing dotted IPv4 address stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(last)) return undefined;
    const v4 = last.split('.').map(Number);
    if (v4.some((b) => b > 255)) return undefined;
    tail = [((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16)];
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? [...groups(halves[1]!), ...tail] : [];
  if (halves.length === 1) left.push(...tail);
  const given = left.length + right.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const words = [...left, ...Array<string>(8 - given).fill('0'), ...right];
  if (words.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return words.flatMap((g) => {
    const value = Number.parseInt(g, 16);
    return [value >> 8, value & 0xff];
  });
}

function classifyIpv4([a, b, c, d]: number[]): AddressClass {
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b! >= 16 && b! < 32) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b! >= 64 && b! < 128) return 'shared';
  if (a === 169 && b === 254) return c === 169 && d === 254 ? 'metadata' : 'link-local';
  if (a === 255 && b === 255 && c === 255 && d === 255) return 'broadcast';
  if (a! >= 224 && a! < 240) return 'multicast';
  if (a! >= 240) return 'reserved';
  // IETF protocol assignments, documentation and benchmarking ranges: no real receiver lives there.
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'reserved';
  if (a === 198 && (b === 18 || b === 19)) return 'reserved';
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'reserved';
  return 'public';
}

function classifyIpv6(bytes: number[]): AddressClass {
  const word = (i: number) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
  const zeroUpTo = (n: number) => bytes.slice(0, n).every((b) => b === 0);
  const v4 = bytes.slice(12);
  if (zeroUpTo(16)) return 'unspecified';
  if (zeroUpTo(15) && bytes[15] === 1) return 'loopback';
  // ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), 64:ff9b::a.b.c.d (NAT64).
  if (zeroUpTo(12)) return classifyIpv4(v4);
  if (zeroUpTo(10) && word(5) === 0xffff) return classifyIpv4(v4);
  if (zeroUpTo(8) && word(4) === 0xffff && word(5) === 0) return classifyIpv4(v4);
  if (word(0) === 0x64 && word(1) === 0xff9b && bytes.slice(4, 12).every((b) => b === 0)) {
    return classifyIpv4(v4);
  }
  if (word(0) === 0x64 && word(1) === 0xff9b && word(2) === 1) return 'private';
  // 6to4 carries the IPv4 address in the second and third groups.
  if (word(0) === 0x2002) return classifyIpv4(bytes.slice(2, 6));
  if (
    word(0) === 0xfd00 &&
    word(1) === 0x0ec2 &&
    bytes.slice(4, 14).every((b) => b === 0) &&
    word(7) === 0x254
  ) {
    return 'metadata';
  }
  if ((bytes[0]! & 0xfe) === 0xfc) return 'private';
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return 'link-local';
  // Site-local, deprecated but still routed inside some networks.
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) return 'private';
  if (bytes[0] === 0xff) return 'multicast';
  // Teredo (an obfuscated IPv4 address), documentation, discard-only.
  if (word(0) === 0x2001 && word(1) === 0) return 'reserved';
  if (word(0) === 0x2001 && word(1) === 0x0db8) return 'reserved';
  if (word(0) === 0x0100 && word(1) === 0 && word(2) === 0 && word(3) === 0) return 'reserved';
  return 'public';
}
