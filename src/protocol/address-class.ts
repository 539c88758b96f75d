/**
 * What kind of address an IP literal is, and whether a JWKS may be fetched from it (SECURITY-CASES
 * AD-06). Pure: one classifier shared by registration-time URL checks (http/admin/validation.ts)
 * and fetch-time DNS answers (jwks-fetch.ts), so both refuse exactly the same addresses.
 *
 * Refused: unspecified, loopback (unless loopback JWKS are allowed in development), link-local
 * (cloud metadata lives at 169.254.169.254), multicast, broadcast and the other cloud metadata
 * addresses, including their IPv4-mapped, IPv4-compatible and NAT64 forms (RFC 4291 §2.5.5,
 * RFC 6052 §2.1). Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) stay allowed:
 * a company IdP on the internal network is the usual place for a JWKS.
 */
import { isIP } from 'node:net';

export type AddressClass =
  'unspecified' | 'loopback' | 'link-local' | 'multicast' | 'broadcast' | 'metadata' | 'private' | 'public';

/** [first address as a number, prefix length, class]; the first matching row wins. */
type Ipv4Range = readonly [number, number, AddressClass];

function ipv4(text: string): number {
  return text.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

const IPV4_RANGES: readonly Ipv4Range[] = [
  [ipv4('0.0.0.0'), 8, 'unspecified'], // RFC 1122 §3.2.1.3 "this network"
  [ipv4('127.0.0.0'), 8, 'loopback'],
  [ipv4('169.254.0.0'), 16, 'link-local'], // RFC 3927; AWS, GCP, Azure metadata
  [ipv4('224.0.0.0'), 4, 'multicast'],
  [ipv4('255.255.255.255'), 32, 'broadcast'],
  [ipv4('100.100.100.200'), 32, 'metadata'], // Alibaba Cloud metadata
  [ipv4('10.0.0.0'), 8, 'private'],
  [ipv4('172.16.0.0'), 12, 'private'],
  [ipv4('192.168.0.0'), 16, 'private'],
  [ipv4('100.64.0.0'), 10, 'private'], // RFC 6598 shared address space
];

function classifyIpv4(value: number): AddressClass {
  for (const [first, prefix, addressClass] of IPV4_RANGES) {
    const size = 2 ** (32 - prefix);
    if (value >= first && value < first + size) return addressClass;
  }
  return 'public';
}

/** The eight 16-bit groups of a valid IPv6 address (an IPv4 tail counts as two groups). */
function ipv6Groups(text: string): number[] {
  let head = text;
  const tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const value = ipv4(dotted[1] as string);
    tail.push(Math.floor(value / 65536), value % 65536);
    head = text.slice(0, dotted.index + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [left = '', right] = head.split('::');
  const leftGroups = parse(left);
  const rightGroups = [...(right === undefined ? [] : parse(right)), ...tail];
  if (right === undefined) return [...leftGroups, ...rightGroups];
  const zeros = new Array<number>(8 - leftGroups.length - rightGroups.length).fill(0);
  return [...leftGroups, ...zeros, ...rightGroups];
}

function classifyIpv6(groups: readonly number[]): AddressClass {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const embeddedIpv4 = g6 * 65536 + g7;
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0 && g6 === 0 && g7 === 0) return 'unspecified';
  if (zeroPrefix && g5 === 0 && g6 === 0 && g7 === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible) reach the IPv4 address itself.
  if (zeroPrefix && (g5 === 0xffff || g5 === 0)) return classifyIpv4(embeddedIpv4);
  // 64:ff9b::a.b.c.d, the NAT64 well-known prefix (RFC 6052 §2.1).
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return classifyIpv4(embeddedIpv4);
  }
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10
  if ((g0 & 0xff00) === 0xff00) return 'multicast'; // ff00::/8
  if (groups.join(':') === [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(':')) return 'metadata'; // AWS IMDS
  if ((g0 & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local (RFC 4193)
  if ((g0 & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 site-local (deprecated)
  return 'public';
}

/**
 * The class of an IP literal (`127.0.0.1`, `::1`, `[::1]` as URL hostnames write it, or
 * `fe80::1%eth0` with a zone); null when the text is not an IP address, such as a DNS name.
 */
export function classifyAddress(text: string): AddressClass | null {
  const bare = (text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text).replace(/%.*$/, '');
  const version = isIP(bare);
  if (version === 4) return classifyIpv4(ipv4(bare));
  if (version === 6) return classifyIpv6(ipv6Groups(bare.toLowerCase()));
  return null;
}

/** Whether a JWKS may be fetched from an address of this class. */
export function isFetchableClass(addressClass: AddressClass, allowLoopback: boolean): boolean {
  return (
    addressClass === 'public' || addressClass === 'private' || (allowLoopback && addressClass === 'loopback')
  );
}
