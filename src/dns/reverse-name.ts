import { decodeIpv6 } from '../codec/ip.js';
import { normalizeName } from './message.js';

/**
 * The address a PTR question asks about (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa), or
 * undefined when the name is not a complete reverse name.
 */
export function addressOfReverseName(name: string): string | undefined {
  const n = normalizeName(name);
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    return decodeIpv6(Buffer.from(nibbles.reverse().join(''), 'hex'), 0);
  }
  return undefined;
}
