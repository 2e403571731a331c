import { isIPv4 } from 'node:net';

/**
 * IP addresses as 32-bit words for range lookups: an IPv4 address is one word, an IPv6 address
 * four (most significant first). IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as its IPv4 address.
 */

/** The IPv4 address `host` as an unsigned 32-bit number, or -1 when it is not dotted-quad IPv4. */
export function ipv4Word(host: string): number {
  let word = 0;
  let octet = -1;
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (octet < 0 || ++dots > 3) return -1;
      word = word * 256 + octet;
      octet = -1;
    } else if (c >= 48 && c <= 57) {
      octet = octet < 0 ? c - 48 : octet * 10 + (c - 48);
      if (octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || octet < 0) return -1;
  return word * 256 + octet;
}

/**
 * Writes the IPv6 address `host` into `out` (4 words) and returns true; false when it is not IPv6.
 * An IPv4-mapped address writes nothing and returns false: ask ipv4OfMapped for it.
 */
export function ipv6Words(host: string, out: Uint32Array): boolean {
  const groups = ipv6Groups(host);
  if (!groups) return false;
  for (let i = 0; i < 4; i++) out[i] = ((groups[i * 2] << 16) | groups[i * 2 + 1]) >>> 0;
  return true;
}

/** The IPv4 address inside ::ffff:a.b.c.d (or ::ffff:xxxx:xxxx), else -1. */
export function ipv4OfMapped(host: string): number {
  const lower = host.toLowerCase();
  if (!lower.startsWith('::ffff:')) return -1;
  const rest = lower.slice(7);
  if (isIPv4(rest)) return ipv4Word(rest);
  const groups = ipv6Groups(lower);
  if (!groups || groups[5] !== 0xffff || groups.slice(0, 5).some((g) => g !== 0)) return -1;
  return ((groups[6] << 16) | groups[7]) >>> 0;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const out: number[] = [];
  for (const part of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
    out.push(parseInt(part, 16));
  }
  return out;
}

/** The eight 16-bit groups of an IPv6 literal (no zone, no embedded IPv4), else undefined. */
function ipv6Groups(host: string): number[] | undefined {
  if (host.includes('.') || host.includes('%')) return undefined;
  const halves = host.split('::');
  if (halves.length > 2) return undefined;
  if (halves.length === 1) {
    const groups = parseGroups(host);
    return groups?.length === 8 ? groups : undefined;
  }
  const head = parseGroups(halves[0]);
  const tail = parseGroups(halves[1]);
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
