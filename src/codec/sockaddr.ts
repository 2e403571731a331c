/*
 * Linux socket addresses as the native addon passes them (raw kernel structs, <netinet/in.h>):
 *
 *   struct sockaddr_in (16 bytes)                 struct sockaddr_in6 (28 bytes)
 *   off len field                                 off len field
 *     0   2 sin_family  AF_INET = 2  (host order)   0   2 sin6_family   AF_INET6 = 10 (host order)
 *     2   2 sin_port               (network order)  2   2 sin6_port                (network order)
 *     4   4 sin_addr               (network order)  4   4 sin6_flowinfo            (network order)
 *     8   8 sin_zero (zeros)                         8  16 sin6_addr                (network order)
 *                                                  24   4 sin6_scope_id            (host order)
 *
 * The family is in host byte order (little-endian on x86-64 and arm64). A v4-mapped IPv6 address
 * (::ffff:a.b.c.d, from a dual-stack socket) decodes to plain IPv4, like core/addr's addrOf.
 * Flow info and scope id are dropped on decode and written as zero on encode: a SocksAddr has no
 * place for them, and no proxy protocol could carry a scope id anyway.
 */
import { isValidPort, type SocksAddr } from '../core/addr.js';
import { decodeIpv4, decodeIpv6, encodeIp } from './ip.js';
import { CodecError } from '../core/need-more.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readFamily(buf: Buffer): number {
  return HOST_LE ? buf.readUInt16LE(0) : buf.readUInt16BE(0);
}

function writeFamily(buf: Buffer, family: number): void {
  if (HOST_LE) buf.writeUInt16LE(family, 0);
  else buf.writeUInt16BE(family, 0);
}

function isV4Mapped(buf: Buffer, offset: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[offset + i] !== 0) return false;
  return buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
}

/**
 * IPv4 host strings already made, by address: every accepted connection decodes two sockaddrs, and
 * the same few addresses recur (this host's or the LAN's clients, popular destinations), so each
 * live flow shares one string per address instead of holding two of its own. Bounded: emptied when full.
 */
const IPV4_TEXTS_MAX = 4096;
const ipv4Texts = new Map<number, string>();

function ipv4Text(buf: Buffer, offset: number): string {
  const key = buf.readUInt32BE(offset);
  let text = ipv4Texts.get(key);
  if (text === undefined) {
    if (ipv4Texts.size >= IPV4_TEXTS_MAX) ipv4Texts.clear();
    ipv4Texts.set(key, (text = decodeIpv4(buf, offset)));
  }
  return text;
}

/** The address in a sockaddr_in / sockaddr_in6. Bytes after the struct (sockaddr_storage) are ignored. */
export function decodeSockaddr(buf: Buffer): SocksAddr {
  if (buf.length < 2) {
    throw new CodecError('SOCKADDR_SHORT', `sockaddr needs at least 2 bytes for its family, got ${buf.length}`);
  }
  const family = readFamily(buf);
  if (family === AF_INET) {
    if (buf.length < SOCKADDR_IN_LEN) {
      throw new CodecError('SOCKADDR_SHORT', `sockaddr_in needs ${SOCKADDR_IN_LEN} bytes, got ${buf.length}`);
    }
    return { kind: 'ipv4', host: ipv4Text(buf, 4), port: buf.readUInt16BE(2) };
  }
  if (family === AF_INET6) {
    if (buf.length < SOCKADDR_IN6_LEN) {
      throw new CodecError('SOCKADDR_SHORT', `sockaddr_in6 needs ${SOCKADDR_IN6_LEN} bytes, got ${buf.length}`);
    }
    const port = buf.readUInt16BE(2);
    if (isV4Mapped(buf, 8)) return { kind: 'ipv4', host: ipv4Text(buf, 20), port };
    return { kind: 'ipv6', host: decodeIpv6(buf, 8), port };
  }
  throw new CodecError('SOCKADDR_BAD_FAMILY', `sockaddr family ${family} is neither AF_INET (2) nor AF_INET6 (10)`);
}

/** sockaddr_in (16 bytes) for ipv4, sockaddr_in6 (28 bytes) for ipv6; a domain name cannot be encoded. */
export function encodeSockaddr(addr: SocksAddr): Buffer {
  if (!isValidPort(addr.port)) {
    throw new CodecError('SOCKADDR_BAD_PORT', `port must be an integer 0-65535, got ${String(addr.port)}`);
  }
  if (addr.kind === 'ipv4') {
    const buf = Buffer.alloc(SOCKADDR_IN_LEN);
    writeFamily(buf, AF_INET);
    buf.writeUInt16BE(addr.port, 2);
    encodeIp('ipv4', addr.host).copy(buf, 4);
    return buf;
  }
  if (addr.kind === 'ipv6') {
    const buf = Buffer.alloc(SOCKADDR_IN6_LEN);
    writeFamily(buf, AF_INET6);
    buf.writeUInt16BE(addr.port, 2);
    encodeIp('ipv6', addr.host).copy(buf, 8);
    return buf;
  }
  throw new CodecError('SOCKADDR_DOMAIN', 'a domain name has no sockaddr: resolve it first');
}
