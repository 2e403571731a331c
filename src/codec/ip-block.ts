import { decodeIpv4, decodeIpv6, parseIp } from './ip.js';

/** An address block as integers, so fake-IP pools can count through it. */
export interface IpBlock {
  readonly text: string;
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
  /** Addresses in the block. */
  readonly size: bigint;
}

const bits = (family: 4 | 6) => (family === 4 ? 32 : 128);

function toBigInt(bytes: Buffer): bigint {
  return BigInt(`0x${bytes.toString('hex')}`);
}

/** Parses "198.18.0.0/15" or "fc00::/18"; throws RangeError with a plain message. */
export function parseIpBlock(text: string): IpBlock {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) throw new RangeError(`"${text}": expected ADDRESS/PREFIX`);
  const [, host, prefixText] = match;
  const family: 4 | 6 = host.includes(':') ? 6 : 4;
  const bytes = parseIp(family === 4 ? 'ipv4' : 'ipv6', host);
  const prefix = Number(prefixText);
  if (!bytes) throw new RangeError(`"${text}": not an IPv${family} address`);
  if (prefix > bits(family)) throw new RangeError(`"${text}": prefix longer than ${bits(family)} bits`);
  const hostBits = BigInt(bits(family) - prefix);
  const base = (toBigInt(bytes) >> hostBits) << hostBits;
  return { text: `${addressOf(family, base)}/${prefix}`, family, base, prefix, size: 1n << hostBits };
}

export function addressOf(family: 4 | 6, value: bigint): string {
  const hex = value.toString(16).padStart(family === 4 ? 8 : 32, '0');
  const bytes = Buffer.from(hex, 'hex');
  return family === 4 ? decodeIpv4(bytes, 0) : decodeIpv6(bytes, 0);
}

/** The address `offset` places into the block. */
export function addressAt(cidr: IpBlock, offset: bigint): string {
  return addressOf(cidr.family, cidr.base + offset);
}

/** Where `address` sits in the block, or undefined when it is outside (or not an address). */
export function offsetOf(cidr: IpBlock, address: string): bigint | undefined {
  const bytes = parseIp(cidr.family === 4 ? 'ipv4' : 'ipv6', address);
  if (!bytes) return undefined;
  const offset = toBigInt(bytes) - cidr.base;
  return offset >= 0n && offset < cidr.size ? offset : undefined;
}
