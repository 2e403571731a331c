/*
 * SOCKS5 address block (RFC 1928 §4, §6, §7), shared by requests, replies and UDP headers:
 *
 *   +------+----------+----------+
 *   | ATYP | DST.ADDR | DST.PORT |
 *   +------+----------+----------+
 *   |  1   | Variable |    2     |
 *   +------+----------+----------+
 *
 *   ATYP 0x01  IPv4    4 bytes
 *   ATYP 0x03  domain  1 length byte (1-255), then that many bytes of name, no NUL
 *   ATYP 0x04  IPv6    16 bytes
 *   PORT       network byte order
 *
 * The RFC leaves the domain's character set open; we use UTF-8 and count the length in bytes.
 * A domain that spells an IP literal stays kind 'domain': the peer chose ATYP 3 on purpose.
 *
 * The helpers below the block codec (offset/port/text checks) are shared by every codec here.
 */
import { isValidPort, type SocksAddr } from '../core/addr.js';
import { decodeIpv4, decodeIpv6, encodeIp } from './ip.js';
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';

export const Atyp = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const;

export function socksAddrLength(addr: SocksAddr): number {
  if (addr.kind === 'ipv4') return 1 + 4 + 2;
  if (addr.kind === 'ipv6') return 1 + 16 + 2;
  return 1 + 1 + Buffer.byteLength(addr.host) + 2;
}

/** The block; with `headroom`, that many leading bytes are left unwritten for the caller's header. */
export function encodeSocksAddr(addr: SocksAddr, headroom = 0): Buffer {
  assertPort(addr.port, 'SOCKS5_BAD_PORT');
  let atyp: number;
  let body: Buffer;
  switch (addr.kind) {
    case 'ipv4':
      atyp = Atyp.IPV4;
      body = encodeIp('ipv4', addr.host);
      break;
    case 'ipv6':
      atyp = Atyp.IPV6;
      body = encodeIp('ipv6', addr.host);
      break;
    case 'domain':
      atyp = Atyp.DOMAIN;
      body = encodeText(addr.host, { code: 'SOCKS5_BAD_DOMAIN', what: 'domain', min: 1, max: 255 });
      break;
    default:
      throw new CodecError('SOCKS5_BAD_ATYP', `unknown address kind ${JSON.stringify(String((addr as SocksAddr).kind))}`);
  }
  const lengthByte = atyp === Atyp.DOMAIN ? 1 : 0;
  const out = Buffer.allocUnsafe(headroom + 1 + lengthByte + body.length + 2);
  let at = headroom;
  out[at++] = atyp;
  if (lengthByte) out[at++] = body.length;
  at += body.copy(out, at);
  out.writeUInt16BE(addr.port, at);
  return out;
}

export function decodeSocksAddr(buf: Buffer, offset = 0): Decoded<SocksAddr> {
  assertOffset(buf, offset);
  if (buf.length - offset < 1) return NEED_MORE;
  const atyp = buf[offset];
  let start = offset + 1;
  let hostLen: number;
  if (atyp === Atyp.IPV4) hostLen = 4;
  else if (atyp === Atyp.IPV6) hostLen = 16;
  else if (atyp === Atyp.DOMAIN) {
    if (buf.length - offset < 2) return NEED_MORE;
    hostLen = buf[offset + 1];
    if (hostLen === 0) throw new CodecError('SOCKS5_BAD_DOMAIN', 'zero-length domain name');
    start++;
    // Reject a NUL as soon as it arrives rather than after the whole name.
    if (buf.subarray(start, start + hostLen).includes(0)) {
      throw new CodecError('SOCKS5_BAD_DOMAIN', 'domain name contains a NUL byte');
    }
  } else {
    throw new CodecError('SOCKS5_BAD_ATYP', `unknown address type ATYP=${hex2(atyp)}`);
  }
  const end = start + hostLen;
  if (buf.length < end + 2) return NEED_MORE;
  const port = buf.readUInt16BE(end);
  const value: SocksAddr =
    atyp === Atyp.IPV4
      ? { kind: 'ipv4', host: decodeIpv4(buf, start), port }
      : atyp === Atyp.IPV6
        ? { kind: 'ipv6', host: decodeIpv6(buf, start), port }
        : { kind: 'domain', host: decodeUtf8(buf, start, end, 'SOCKS5_BAD_DOMAIN', 'domain'), port };
  return { value, bytesRead: end + 2 - offset };
}

// ---- helpers shared by the codecs in this directory ----

/** Decoders promise to throw only CodecError, so a caller's bad offset must become one too. */
export function assertOffset(buf: Buffer, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new CodecError('CODEC_BAD_OFFSET', `offset ${offset} outside buffer of ${buf.length} bytes`);
  }
}

export function assertPort(port: number, code: string): void {
  if (!isValidPort(port)) throw new CodecError(code, `port must be an integer 0-65535, got ${port}`);
}

export function assertByte(n: number, code: string, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new CodecError(code, `${what} must be a byte 0-255, got ${n}`);
}

export function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

export interface TextRule {
  readonly code: string;
  readonly what: string;
  readonly min: number;
  readonly max: number;
  readonly allowNul?: boolean;
}

/**
 * UTF-8 bytes of a length-limited field. Lone surrogates are refused because Buffer would
 * silently send U+FFFD instead. Messages give sizes only: the field may be a password.
 */
export function encodeText(text: string, rule: TextRule): Buffer {
  if (/\p{Cs}/u.test(text)) throw new CodecError(rule.code, `${rule.what} is not well-formed Unicode`);
  if (!rule.allowNul && text.includes('\0')) throw new CodecError(rule.code, `${rule.what} contains a NUL character`);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < rule.min || bytes.length > rule.max) {
    throw new CodecError(rule.code, `${rule.what} must be ${rule.min}-${rule.max} bytes of UTF-8, got ${bytes.length}`);
  }
  return bytes;
}

// fatal: invalid UTF-8 is refused rather than mapped to U+FFFD, so two different byte strings
// (say, two wrong passwords) can never decode to the same text. ignoreBOM keeps a leading U+FEFF.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8(buf: Buffer, start: number, end: number, code: string, what: string): string {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new CodecError(code, `${what} is not valid UTF-8`);
  }
}
