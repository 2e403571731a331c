/**
 * IP addresses as 32-bit words for range lookups: an IPv4 address is one word, an IPv6 address
 * four (most significant first). IPv4-mapped IPv6 (::ffff:a.b.c.d, however written) counts as its
 * IPv4 address. Parsed by hand, without allocating: one lookup per flow on the route's hot path.
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
      // No leading zeros: 010 is octal to some parsers, so Node refuses it and so does this.
      if (octet === 0) return -1;
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
 * Writes the IPv6 address `host` into `out` (4 words) and returns true; false when it is not an
 * IPv6 literal (a zone, `%eth0`, is not). A dotted IPv4 tail is taken (::ffff:192.0.2.1,
 * 64:ff9b::192.0.2.1); an IPv4-mapped address is written as IPv6 too: ask isV4Mapped.
 */
export function ipv6Words(host: string, out: Uint32Array): boolean {
  if (!ipv6Groups(host, groups)) return false;
  for (let i = 0; i < 4; i++) out[i] = ((groups[i * 2] << 16) | groups[i * 2 + 1]) >>> 0;
  return true;
}

/** What ipKey returns for an IPv6 address (its words are in `out`) and for anything but an IP literal. */
export const IPV6_KEY = -1;
export const NOT_IP = -2;

/**
 * An IP literal as a lookup key: the IPv4 address as an unsigned word (an IPv4-mapped IPv6 address
 * too), or IPV6_KEY with the four words written to `out`, or NOT_IP.
 */
export function ipKey(host: string, out: Uint32Array): number {
  const v4 = ipv4Word(host);
  if (v4 >= 0) return v4;
  if (!ipv6Words(host, out)) return NOT_IP;
  return isV4Mapped(out) ? out[3] : IPV6_KEY;
}

/** Whether the four words are in ::ffff:0:0/96; the IPv4 address is then words[3]. */
export function isV4Mapped(words: Uint32Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0xffff;
}

const groups = new Uint16Array(8);
/** An IPv6 literal is at most 45 characters (six groups and a dotted quad). */
const MAX_IPV6_TEXT = 45;

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The eight 16-bit groups of an IPv6 literal into `g`; false if it is not one. */
function ipv6Groups(host: string, g: Uint16Array): boolean {
  const n = host.length;
  if (n < 2 || n > MAX_IPV6_TEXT) return false;
  let count = 0;
  /** Where `::` stands, as the number of groups before it; -1: none. */
  let gap = -1;
  let i = 0;
  if (host.charCodeAt(0) === 58) {
    if (host.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    if (count === 8) return false;
    const start = i;
    let value = 0;
    let digit: number;
    while (i < n && (digit = hexDigit(host.charCodeAt(i))) >= 0) {
      value = value * 16 + digit;
      i++;
    }
    if (i < n && host.charCodeAt(i) === 46) {
      // A dotted IPv4 tail: the last two groups.
      const v4 = count <= 6 ? ipv4Word(host.slice(start)) : -1;
      if (v4 < 0) return false;
      g[count++] = v4 >>> 16;
      g[count++] = v4 & 0xffff;
      break;
    }
    if (i === start || i - start > 4) return false;
    g[count++] = value;
    if (i === n) break;
    if (host.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && host.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n) {
      return false;
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  const tail = count - gap;
  for (let k = 1; k <= tail; k++) g[8 - k] = g[count - k];
  g.fill(0, gap, 8 - tail);
  return true;
}
