/*
 * SOCKS4 (Ying-Da Lee, "SOCKS: A protocol for TCP proxy across firewalls") and SOCKS4a.
 *
 * Request, client -> server
 *   +----+----+----+----+----+----+----+----+----+----+....+----+
 *   | VN | CD | DSTPORT |      DSTIP        | USERID       |NULL|
 *   +----+----+----+----+----+----+----+----+----+----+....+----+
 *      1    1      2              4           variable       1
 *   VN = 4; CD 1 CONNECT, 2 BIND
 *
 * SOCKS4a: DSTIP = 0.0.0.x with x != 0 means "resolve this name for me"; the name follows:
 *   ... | USERID | NULL | DOMAIN | NULL |
 *
 * Reply, server -> client (always 8 bytes)
 *   +----+----+----+----+----+----+----+----+
 *   | VN | CD | DSTPORT |      DSTIP        |
 *   +----+----+----+----+----+----+----+----+
 *   VN = 0; CD 0x5a granted, 0x5b rejected/failed, 0x5c no identd, 0x5d identd user mismatch
 *
 * USERID and DOMAIN are NUL-terminated with no length limit in the protocol; we cap each at
 * 255 bytes so a peer cannot make us buffer without end while we wait for the NUL.
 */
import type { SocksAddr } from '../core/addr.js';
import { decodeIpv4, encodeIp } from './ip.js';
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';
import { assertByte, assertOffset, assertPort, decodeUtf8, encodeText, hex2 } from './socks-addr.js';

export const Socks4Command = { CONNECT: 1, BIND: 2 } as const;

export const Socks4Reply = { GRANTED: 0x5a, REJECTED: 0x5b, NO_IDENTD: 0x5c, IDENTD_MISMATCH: 0x5d } as const;

const REPLY_TEXT: Record<number, string> = {
  0x5a: 'request granted',
  0x5b: 'request rejected or failed',
  0x5c: 'request rejected: server cannot reach identd on the client',
  0x5d: 'request rejected: identd reports a different user-id',
};

export function socks4ReplyReason(code: number): string {
  const text = Object.hasOwn(REPLY_TEXT, code) ? REPLY_TEXT[code] : 'unassigned reply code';
  return `${text} (CD=${hex2(code)})`;
}

const VERSION = 0x04;
const MAX_FIELD = 255;
const USERID = { code: 'SOCKS4_BAD_USERID', what: 'user-id', min: 0, max: MAX_FIELD };
const DOMAIN = { code: 'SOCKS4_BAD_DOMAIN', what: 'domain', min: 1, max: MAX_FIELD };

export interface Socks4Request {
  readonly command: number;
  readonly addr: SocksAddr;
  readonly userId: string;
}

export function encodeSocks4Request(req: { command: 1 | 2; addr: SocksAddr; userId: string }): Buffer {
  if (req.command !== 1 && req.command !== 2) {
    throw new CodecError('SOCKS4_BAD_COMMAND', `SOCKS4 command must be 1 or 2, got ${String(req.command)}`);
  }
  const { addr } = req;
  assertPort(addr.port, 'SOCKS4_BAD_PORT');
  const userId = encodeText(req.userId, USERID);
  let ip: Buffer;
  let domain: Buffer | undefined;
  if (addr.kind === 'ipv4') {
    ip = encodeIp('ipv4', addr.host);
    if (isSocks4aMarker(ip)) {
      throw new CodecError('SOCKS4_BAD_ADDRESS', `${addr.host} is reserved as the SOCKS4a marker (0.0.0.x)`);
    }
  } else if (addr.kind === 'domain') {
    ip = Buffer.of(0, 0, 0, 1);
    domain = encodeText(addr.host, DOMAIN);
  } else {
    throw new CodecError('SOCKS4_NO_IPV6', 'SOCKS4 cannot carry an IPv6 destination');
  }
  const head = Buffer.alloc(4);
  head.writeUInt8(VERSION, 0);
  head.writeUInt8(req.command, 1);
  head.writeUInt16BE(addr.port, 2);
  const parts = [head, ip, userId, Buffer.of(0)];
  if (domain) parts.push(domain, Buffer.of(0));
  return Buffer.concat(parts);
}

export function decodeSocks4Request(buf: Buffer, offset = 0): Decoded<Socks4Request> {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  if (buf[offset] !== VERSION) {
    throw new CodecError('SOCKS4_BAD_VERSION', `expected SOCKS version 4, got ${hex2(buf[offset])}`);
  }
  if (avail < 8) return NEED_MORE;
  const command = buf[offset + 1];
  const port = buf.readUInt16BE(offset + 2);
  const ip = buf.subarray(offset + 4, offset + 8);

  const userEnd = findNul(buf, offset + 8, 'SOCKS4_USERID_TOO_LONG', 'user-id');
  if (userEnd === NEED_MORE) return NEED_MORE;
  const userId = decodeUtf8(buf, offset + 8, userEnd, USERID.code, USERID.what);
  if (!isSocks4aMarker(ip)) {
    const addr: SocksAddr = { kind: 'ipv4', host: decodeIpv4(ip, 0), port };
    return { value: { command, addr, userId }, bytesRead: userEnd + 1 - offset };
  }
  const nameEnd = findNul(buf, userEnd + 1, 'SOCKS4_DOMAIN_TOO_LONG', 'domain');
  if (nameEnd === NEED_MORE) return NEED_MORE;
  if (nameEnd === userEnd + 1) throw new CodecError(DOMAIN.code, 'empty SOCKS4a domain name');
  const host = decodeUtf8(buf, userEnd + 1, nameEnd, DOMAIN.code, DOMAIN.what);
  return { value: { command, addr: { kind: 'domain', host, port }, userId }, bytesRead: nameEnd + 1 - offset };
}

export function encodeSocks4Reply(code: number, addr?: SocksAddr): Buffer {
  assertByte(code, 'SOCKS4_BAD_REPLY', 'reply code');
  const bound: SocksAddr = addr ?? { kind: 'ipv4', host: '0.0.0.0', port: 0 };
  if (bound.kind === 'ipv6') throw new CodecError('SOCKS4_NO_IPV6', 'SOCKS4 cannot carry an IPv6 address');
  if (bound.kind !== 'ipv4') throw new CodecError('SOCKS4_BAD_ADDRESS', 'SOCKS4 reply address must be IPv4');
  assertPort(bound.port, 'SOCKS4_BAD_PORT');
  const out = Buffer.alloc(8);
  out.writeUInt8(code, 1);
  out.writeUInt16BE(bound.port, 2);
  encodeIp('ipv4', bound.host).copy(out, 4);
  return out;
}

export function decodeSocks4Reply(buf: Buffer, offset = 0): Decoded<{ code: number }> {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  // VN is 0 per the spec, but some servers echo the request's version 4; nothing else differs.
  if (buf[offset] !== 0 && buf[offset] !== VERSION) {
    throw new CodecError('SOCKS4_BAD_VERSION', `expected SOCKS4 reply version 0, got ${hex2(buf[offset])}`);
  }
  if (avail < 8) return NEED_MORE;
  return { value: { code: buf[offset + 1] }, bytesRead: 8 };
}

function isSocks4aMarker(ip: Buffer): boolean {
  return ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
}

/** Index of the NUL ending a field that starts at `start`, looking at most MAX_FIELD + 1 bytes. */
function findNul(buf: Buffer, start: number, code: string, what: string): number | typeof NEED_MORE {
  const window = buf.subarray(start, start + MAX_FIELD + 1);
  const i = window.indexOf(0);
  if (i >= 0) return start + i;
  if (window.length > MAX_FIELD) throw new CodecError(code, `${what} longer than ${MAX_FIELD} bytes`);
  return NEED_MORE;
}
