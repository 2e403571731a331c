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
import { decodeIpv6, encodeIp } from './ip.js';
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';
import { assertPort } from './socks-addr.js';
import { parseAuthority, parseHeaders, readHead, REG_NAME } from './http-head.js';

export { MAX_HEAD_BYTES } from './http-head.js';

const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/;
const REQUEST_LINE = /^CONNECT ([^ ]+) HTTP\/\d\.\d$/;

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

