/*
 * HTTP CONNECT tunnel handshake (RFC 9110 §9.3.6; message syntax RFC 9112; Basic auth RFC 7617).
 *
 *   Request, client -> proxy
 *     CONNECT <authority> HTTP/1.1 CRLF
 *     Host: <authority> CRLF
 *     [Proxy-Authorization: Basic base64(user ":" pass) CRLF]
 *     CRLF
 *   Response, proxy -> client
 *     HTTP/1.x SP 3DIGIT [SP reason-phrase] CRLF
 *     *( field-name ":" OWS field-value OWS CRLF )
 *     CRLF
 *     <from here on the connection is the tunnel>
 *
 *   authority = reg-name ":" port | IPv4 ":" port | "[" IPv6 "]" ":" port
 *
 * Bare LF line endings are tolerated (RFC 9112 §2.2). The head, blank line included, may be at
 * most 16 KiB. Header names come back lowercased; repeated headers are joined with ", ".
 */
import type { SocksAddr } from '../core/addr.js';
import { decodeIpv6, encodeIp, parseIp } from './ip.js';
import { CodecError, NEED_MORE, type Decoded, type NeedMore } from '../core/need-more.js';
import { assertOffset, assertPort } from './socks-addr.js';

export const MAX_HEAD_BYTES = 16 * 1024;

// RFC 3986 reg-name without pct-encoding: refuses CR/LF/space (request smuggling), ':' and
// brackets (ambiguous authority) and non-ASCII (an IDN must be sent as its punycode A-label).
const REG_NAME = /^[A-Za-z0-9\-._~!$&'()*+,;=]+$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/;
const REQUEST_LINE = /^CONNECT ([^ ]+) HTTP\/\d\.\d$/;
const HEADER_LINE = /^([^:]*):[ \t]*(.*?)[ \t]*$/;
const FOLDED_LINE = /^[ \t]+(.*?)[ \t]*$/;

function authority(addr: SocksAddr): string {
  assertPort(addr.port, 'HTTP_BAD_PORT');
  switch (addr.kind) {
    case 'ipv4':
      encodeIp('ipv4', addr.host); // validates; dotted-quad text is already canonical
      return `${addr.host}:${addr.port}`;
    case 'ipv6':
      return `[${decodeIpv6(encodeIp('ipv6', addr.host), 0)}]:${addr.port}`;
    default:
      if (!REG_NAME.test(addr.host)) {
        throw new CodecError('HTTP_BAD_HOST', `host ${JSON.stringify(addr.host.slice(0, 64))} cannot be sent in a CONNECT request`);
      }
      return `${addr.host}:${addr.port}`;
  }
}

export function encodeConnectRequest(
  addr: SocksAddr,
  opts?: { basicAuth?: { username: string; password: string } },
): Buffer {
  const target = authority(addr);
  let head = `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n`;
  const auth = opts?.basicAuth;
  if (auth) {
    // RFC 7617: the first ':' separates user from password, so the user cannot contain one.
    if (auth.username.includes(':')) throw new CodecError('HTTP_BAD_CREDENTIALS', 'username must not contain ":"');
    head += `Proxy-Authorization: Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

export interface ConnectResponse {
  readonly status: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
}

export function decodeConnectResponse(buf: Buffer, offset = 0): Decoded<ConnectResponse> {
  const head = readHead(buf, offset, 'HTTP/', 'HTTP_BAD_STATUS_LINE');
  if (head === NEED_MORE) return NEED_MORE;
  const m = STATUS_LINE.exec(head.lines[0]);
  if (!m) throw new CodecError('HTTP_BAD_STATUS_LINE', 'malformed HTTP status line');
  const value = { status: Number(m[1]), reason: m[2] ?? '', headers: parseHeaders(head.lines) };
  return { value, bytesRead: head.bytesRead };
}

export interface ConnectRequest {
  readonly target: SocksAddr;
  readonly headers: Record<string, string>;
}

export function decodeConnectRequest(buf: Buffer, offset = 0): Decoded<ConnectRequest> {
  const head = readHead(buf, offset, 'CONNECT ', 'HTTP_BAD_METHOD');
  if (head === NEED_MORE) return NEED_MORE;
  const m = REQUEST_LINE.exec(head.lines[0]);
  if (!m) throw new CodecError('HTTP_BAD_REQUEST_LINE', 'malformed CONNECT request line');
  const target = parseAuthority(m[1]);
  if (!target) throw new CodecError('HTTP_BAD_TARGET', 'CONNECT target is not host:port');
  return { value: { target, headers: parseHeaders(head.lines) }, bytesRead: head.bytesRead };
}

const HINTS: Record<number, string> = {
  403: 'HTTP proxy forbids this destination',
  405: 'HTTP proxy does not allow CONNECT',
  407: 'HTTP proxy requires authentication (check the credentials)',
  502: 'HTTP proxy could not reach the destination',
  503: 'HTTP proxy is unavailable',
  504: 'HTTP proxy timed out reaching the destination',
};

export function httpConnectReason(status: number, reason: string): string {
  // The reason phrase is peer-controlled and headed for the logs.
  const phrase = reason.replace(/[\x00-\x1f\x7f]/g, ' ').trim().slice(0, 120);
  const what =
    status >= 200 && status < 300 ? 'tunnel established'
    : Object.hasOwn(HINTS, status) ? HINTS[status]
    : 'HTTP proxy refused CONNECT';
  return `${what} (HTTP ${status}${phrase ? ` ${phrase}` : ''})`;
}

function parseAuthority(text: string): SocksAddr | undefined {
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
function readHead(buf: Buffer, offset: number, magic: string, magicCode: string): { lines: string[]; bytesRead: number } | NeedMore {
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
function parseHeaders(lines: string[]): Record<string, string> {
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
