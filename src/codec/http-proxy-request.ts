/*
 * What a client sends an HTTP proxy (RFC 9110 §9.3.6, RFC 9112 §3.2; Basic auth RFC 7617), and
 * what the proxy answers before the tunnel or the forwarded response:
 *
 *   CONNECT host:port HTTP/1.1              GET http://host[:port]/path?query HTTP/1.1
 *   Host: host:port                         Host: host[:port]
 *   [Proxy-Authorization: Basic b64]        [Proxy-Authorization: Basic b64]
 *   CRLF                                    *( other header lines ) CRLF [body]
 *
 *   authority-form: the tunnel's target     absolute-form: forwarded in origin-form
 *                                           ("GET /path?query HTTP/1.1") with hop-by-hop
 *                                           and Proxy-* headers dropped, Host set from the
 *                                           URI and "Connection: close" added
 *   Response, proxy -> client
 *     HTTP/1.1 SP 3DIGIT SP reason CRLF *( header CRLF ) CRLF
 *
 * Only http:// absolute URIs are forwarded (an https:// one would need TLS from the proxy;
 * clients send CONNECT for those). The method must be capital letters, so a peer speaking
 * anything else fails on its first bytes.
 */
import type { SocksAddr } from '../core/addr.js';
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';
import { parseAuthority, parseHeaders, readHead, REG_NAME } from './http-head.js';
import { decodeIpv6, parseIp } from './ip.js';
import { assertOffset, decodeUtf8 } from './socks-addr.js';

export interface ProxyRequest {
  /** CONNECT, GET, POST, … */
  readonly method: string;
  /** Where the proxy connects. */
  readonly target: SocksAddr;
  /** The origin-form target ("/path?query") of a forwarded request; undefined for CONNECT. */
  readonly path: string | undefined;
  /** "1.1" or "1.0". */
  readonly version: string;
  /** Header names lowercased, repeats joined with ", ". */
  readonly headers: Record<string, string>;
  /** The header lines as sent (continuations included), for forwarding. */
  readonly lines: readonly string[];
}

const MAX_METHOD = 16;
const REQUEST_LINE = /^([A-Z]+) ([^ ]+) HTTP\/(1\.[01])$/;
const ABSOLUTE_URI = /^http:\/\/(?:\[([^\]]*)\]|([^:/?#@[\]]+))(?::(\d{1,5}))?([/?][^#]*)?$/i;
/** Hop-by-hop (RFC 9110 §7.6.1) and the proxy's own headers: never forwarded. */
const NOT_FORWARDED = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade', 'host']);

/** The method's letters as they arrive: anything but capitals before the space is not HTTP. */
function checkMethod(buf: Buffer, offset: number): void {
  const end = Math.min(buf.length, offset + MAX_METHOD + 1);
  for (let i = offset; i < end; i++) {
    const c = buf[i];
    if (c === 0x20 && i > offset) return;
    if (c < 0x41 || c > 0x5a) throw new CodecError('HTTP_BAD_METHOD', 'expected an HTTP request method (capital letters, then a space)');
  }
  if (end - offset > MAX_METHOD) throw new CodecError('HTTP_BAD_METHOD', `HTTP request method longer than ${MAX_METHOD} letters`);
}

function absoluteTarget(uri: string): { target: SocksAddr; path: string } {
  const m = ABSOLUTE_URI.exec(uri);
  if (!m) throw new CodecError('HTTP_BAD_TARGET', 'request target is neither host:port (CONNECT) nor an http:// URI');
  const port = m[3] === undefined ? 80 : Number(m[3]);
  if (port < 1 || port > 65535) throw new CodecError('HTTP_BAD_TARGET', 'port in the request URI must be 1-65535');
  const rest = m[4] ?? '/';
  const path = rest.startsWith('?') ? `/${rest}` : rest;
  if (m[1] !== undefined) {
    const ip = parseIp('ipv6', m[1]);
    if (!ip) throw new CodecError('HTTP_BAD_TARGET', 'bracketed host in the request URI is not an IPv6 address');
    return { target: { kind: 'ipv6', host: decodeIpv6(ip, 0), port }, path };
  }
  const host = m[2];
  if (parseIp('ipv4', host)) return { target: { kind: 'ipv4', host, port }, path };
  if (!REG_NAME.test(host)) throw new CodecError('HTTP_BAD_TARGET', 'host in the request URI is not a valid name');
  return { target: { kind: 'domain', host: host.toLowerCase(), port }, path };
}

export function decodeProxyRequest(buf: Buffer, offset = 0): Decoded<ProxyRequest> {
  assertOffset(buf, offset);
  checkMethod(buf, offset);
  const head = readHead(buf, offset, '', 'HTTP_BAD_METHOD');
  if (head === NEED_MORE) return NEED_MORE;
  const m = REQUEST_LINE.exec(head.lines[0]);
  if (!m) throw new CodecError('HTTP_BAD_REQUEST_LINE', 'malformed HTTP request line');
  const [, method, uri, version] = m;
  const headers = parseHeaders(head.lines);
  const lines = head.lines.slice(1);
  // A lone CR or a NUL forwarded inside a line could split it for the next server (request smuggling).
  if (lines.some((line) => /[\r\0]/.test(line))) throw new CodecError('HTTP_BAD_HEADER', 'CR or NUL inside an HTTP header line');
  if (method === 'CONNECT') {
    const target = parseAuthority(uri);
    if (!target || target.port === 0) throw new CodecError('HTTP_BAD_TARGET', 'CONNECT target is not host:port');
    return { value: { method, target, path: undefined, version, headers, lines }, bytesRead: head.bytesRead };
  }
  const { target, path } = absoluteTarget(uri);
  return { value: { method, target, path, version, headers, lines }, bytesRead: head.bytesRead };
}

function hostHeader(target: SocksAddr): string {
  const host = target.kind === 'ipv6' ? `[${target.host}]` : target.host;
  return target.port === 80 ? host : `${host}:${target.port}`;
}

/**
 * The head of a forwarded request: origin-form request line, the client's headers minus the
 * hop-by-hop ones (and those its Connection header names), Host from the URI, "Connection: close"
 * (one request per connection: the server's close ends the client's connection cleanly).
 */
export function encodeOriginRequest(req: ProxyRequest): Buffer {
  if (req.path === undefined) throw new CodecError('HTTP_BAD_TARGET', 'a CONNECT request is not forwarded');
  const named = (req.headers.connection ?? '').split(',').map((t) => t.trim().toLowerCase());
  const out = [`${req.method} ${req.path} HTTP/${req.version}`, `Host: ${hostHeader(req.target)}`];
  let dropping = false;
  for (const line of req.lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!dropping) out.push(line);
      continue;
    }
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    dropping = NOT_FORWARDED.has(name) || named.includes(name);
    if (!dropping) out.push(line);
  }
  out.push('Connection: close', '', '');
  return Buffer.from(out.join('\r\n'), 'latin1');
}

/** The credentials of a `Basic` Proxy-Authorization value; undefined for another scheme. */
export function decodeBasicCredentials(value: string): { username: string; password: string } | undefined {
  const m = /^([A-Za-z]+) +([A-Za-z0-9+/]+={0,2}) *$/.exec(value);
  if (!m) throw new CodecError('HTTP_BAD_CREDENTIALS', 'malformed Proxy-Authorization value');
  if (m[1].toLowerCase() !== 'basic') return undefined;
  const bytes = Buffer.from(m[2], 'base64');
  const colon = bytes.indexOf(0x3a);
  if (colon < 0) throw new CodecError('HTTP_BAD_CREDENTIALS', 'Basic credentials without ":" between user and password');
  return {
    username: decodeUtf8(bytes, 0, colon, 'HTTP_BAD_CREDENTIALS', 'username'),
    password: decodeUtf8(bytes, colon + 1, bytes.length, 'HTTP_BAD_CREDENTIALS', 'password'),
  };
}

const REASONS: Record<number, string> = {
  200: 'Connection established',
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

/**
 * The proxy's own response: 200 opens a CONNECT tunnel (no body, no framing headers); any other
 * status has an empty body and closes the connection.
 */
export function encodeProxyResponse(status: number, headers: Readonly<Record<string, string>> = {}): Buffer {
  if (!Object.hasOwn(REASONS, status)) throw new CodecError('HTTP_BAD_STATUS', `no proxy response defined for status ${status}`);
  const lines = [`HTTP/1.1 ${status} ${REASONS[status]}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (status !== 200) lines.push('Content-Length: 0', 'Connection: close');
  lines.push('', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
