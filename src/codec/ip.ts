/*
 * IP addresses as they travel on the wire:
 *
 *   IPv4 (RFC 791):   4 bytes, first octet first           7f 00 00 01             = 127.0.0.1
 *   IPv6 (RFC 4291): 16 bytes, eight 16-bit groups, BE     20 01 0d b8 00 … 00 01  = 2001:db8::1
 *
 * Text in: any RFC 4291 §2.2 form ("::" compression, either case, leading zeros in groups,
 * a dotted IPv4 tail). Text out: RFC 5952 canonical form, which is exactly what Node's WHATWG
 * URL serializer produces (lowercase, no leading zeros, first longest run of two or more zero
 * groups as "::", never a dotted tail) — so addresses compare equal whatever their source.
 *
 * Zone IDs ("fe80::1%eth0") are rejected: no proxy protocol can carry them.
 */
import { CodecError } from '../core/need-more.js';

export type IpKind = 'ipv4' | 'ipv6';

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Four dotted decimal octets, 0-255. Leading zeros are refused: inet_aton reads "010" as octal 8,
 * most other parsers as 10. A character loop: every diverted connection's destination comes here.
 */
function parseIpv4(text: string): number[] | undefined {
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // the end closes the last octet like a '.'
    if (c === 0x2e) {
      if (digits === 0 || octets.length === 4) return undefined;
      octets.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 0x30);
      digits++;
      if (value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return octets.length === 4 ? octets : undefined;
}

/** Colon-separated groups; only the last may be a dotted IPv4 (worth two groups). */
function parseGroups(text: string, allowV4Tail: boolean): number[] | undefined {
  if (text === '') return [];
  const fields = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (allowV4Tail && i === fields.length - 1 && field.includes('.')) {
      const v4 = parseIpv4(field);
      if (!v4) return undefined;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (V6_GROUP.test(field)) {
      groups.push(parseInt(field, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  if (halves.length === 1) {
    const groups = parseGroups(text, true);
    return groups?.length === 8 ? groups : undefined;
  }
  const head = parseGroups(halves[0], false);
  const tail = parseGroups(halves[1], true);
  // "::" stands for at least one zero group, so at most seven may be written out.
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Network bytes of an IP literal, or undefined if `host` is not one of `kind`. */
export function parseIp(kind: IpKind, host: string): Buffer | undefined {
  if (kind === 'ipv4') {
    const octets = parseIpv4(host);
    return octets && Buffer.from(octets);
  }
  const groups = parseIpv6(host);
  if (!groups) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

export function encodeIp(kind: IpKind, host: string): Buffer {
  const bytes = parseIp(kind, host);
  if (bytes) return bytes;
  const code = kind === 'ipv4' ? 'IP_BAD_IPV4' : 'IP_BAD_IPV6';
  throw new CodecError(code, `not an ${kind === 'ipv4' ? 'IPv4' : 'IPv6'} address: ${JSON.stringify(host.slice(0, 64))}`);
}

function need(buf: Buffer, offset: number, n: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + n > buf.length) {
    throw new CodecError('IP_SHORT_BUFFER', `need ${n} address bytes at offset ${offset}, buffer has ${buf.length}`);
  }
}

export function decodeIpv4(buf: Buffer, offset: number): string {
  need(buf, offset, 4);
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

export function decodeIpv6(buf: Buffer, offset: number): string {
  need(buf, offset, 16);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + i * 2));
  let runStart = -1;
  let runLen = 1; // a lone zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > runLen) [runStart, runLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (runStart < 0) return hex(groups);
  return `${hex(groups.slice(0, runStart))}::${hex(groups.slice(runStart + runLen))}`;
}
