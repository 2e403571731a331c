/*
 * The HTTP/1.x message head (RFC 9112 §2-§5), shared by the CONNECT client and the proxy server:
 *
 *   start-line CRLF
 *   *( field-name ":" OWS field-value OWS CRLF )
 *   CRLF
 *
 * Bare LF line endings are tolerated (RFC 9112 §2.2). The head, blank line included, may be at
 * most 16 KiB. Header names come back lowercased; repeated headers are joined with ", ".
 */
import type { SocksAddr } from '../core/addr.js';
import { decodeIpv6, parseIp } from './ip.js';
import { CodecError, NEED_MORE, type NeedMore } from '../core/need-more.js';
import { assertOffset } from './socks-addr.js';

export const MAX_HEAD_BYTES = 16 * 1024;

// RFC 3986 reg-name without pct-encoding: refuses CR/LF/space (request smuggling), ':' and
// brackets (ambiguous authority) and non-ASCII (an IDN must be sent as its punycode A-label).
export const REG_NAME = /^[A-Za-z0-9\-._~!$&'()*+,;=]+$/;
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_LINE = /^([^:]*):[ \t]*(.*?)[ \t]*$/;
const FOLDED_LINE = /^[ \t]+(.*?)[ \t]*$/;

/** host:port, [v6]:port or v4:port as a request target's authority; undefined when it is none of them. */
export function parseAuthority(text: string): SocksAddr | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) return undefined;
  const port = Number(m[3]);
  if (m[1] !== undefined) {
    const ip = parseIp('ipv6', m[1]);
    return ip && { kind: 'ipv6', host: decodeIpv6(ip, 0), port };
  }
  const host = m[2];
  if (parseIp('ipv4', host)) return { kind: 'ipv4', host, port };
  return REG_NAME.test(host) ? { kind: 'domain', host, port } : undefined;
}

/**
 * Splits the head into lines once the blank line has arrived. `magic` is how the first line
 * must begin: a peer that is not speaking HTTP (a SOCKS server, say) fails on its first byte
 * instead of leaving us waiting for 16 KiB.
 */
export function readHead(buf: Buffer, offset: number, magic: string, magicCode: string): { lines: string[]; bytesRead: number } | NeedMore {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  for (let i = 0; i < Math.min(avail, magic.length); i++) {
    if (buf[offset + i] !== magic.charCodeAt(i)) {
      throw new CodecError(magicCode, `expected the message to start with ${JSON.stringify(magic)}`);
    }
  }
  const limit = offset + MAX_HEAD_BYTES;
  for (let lf = buf.indexOf(0x0a, offset); lf >= 0 && lf < limit; lf = buf.indexOf(0x0a, lf + 1)) {
    const end = buf[lf + 1] === 0x0a ? lf + 2 : buf[lf + 1] === 0x0d && buf[lf + 2] === 0x0a ? lf + 3 : -1;
    if (end < 0) continue;
    if (end > limit) break;
    const text = buf.toString('latin1', offset, lf).replace(/\r$/, '');
    return { lines: text.split(/\r?\n/), bytesRead: end - offset };
  }
  if (avail >= MAX_HEAD_BYTES) {
    throw new CodecError('HTTP_HEADER_TOO_LARGE', `no end of HTTP header within ${MAX_HEAD_BYTES} bytes`);
  }
  return NEED_MORE;
}

/** Header lines after the start line. A plain object (so deepEqual works) with own keys only. */
export function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  let last: string | undefined;
  for (const line of lines.slice(1)) {
    const folded = FOLDED_LINE.exec(line);
    if (folded) {
      // obs-fold (RFC 9112 §5.2): a recipient may replace the fold with a space.
      if (last === undefined) throw new CodecError('HTTP_BAD_HEADER', 'continuation line before any header');
      headers[last] += ` ${folded[1]}`;
      continue;
    }
    const m = HEADER_LINE.exec(line);
    if (!m || !TOKEN.test(m[1])) throw new CodecError('HTTP_BAD_HEADER', 'malformed HTTP header line');
    const name = m[1].toLowerCase();
    if (Object.hasOwn(headers, name)) headers[name] += `, ${m[2]}`;
    // defineProperty so a header called "__proto__" stays data instead of swapping the prototype.
    else Object.defineProperty(headers, name, { value: m[2], writable: true, enumerable: true, configurable: true });
    last = name;
  }
  return headers;
}
