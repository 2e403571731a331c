import { isIPv4, isIPv6 } from './ip-literal.js';

export type IpFamily = 'ipv4' | 'ipv6';

/** An address block as firewall tools write it: `addr/len`, always with the prefix length. */
export interface Cidr {
  readonly family: IpFamily;
  readonly text: string;
}

/** Parses "addr" or "addr/len" (IPv4 or IPv6). Throws RangeError with a plain message. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  const family: IpFamily | undefined = isIPv4(host) ? 'ipv4' : isIPv6(host) ? 'ipv6' : undefined;
  if (!family) throw new RangeError(`"${text}": expected an IPv4 or IPv6 address, optionally /prefix`);
  const max = family === 'ipv4' ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  const len = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || len > max) throw new RangeError(`"${text}": prefix length must be 0-${max}`);
  return { family, text: `${host.toLowerCase()}/${len}` };
}
