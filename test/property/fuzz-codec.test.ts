// Fuzz: every stream decoder in src/codec, fed random bytes and mutated valid messages (truncated,
// bits flipped, length fields forged, bytes inserted or cut) at an offset, then re-fed from random
// prefixes. Each input gives NEED_MORE, a message within the bytes given, or a CodecError with a
// stable code; and a prefix that already decided (a message or an error) agrees with the whole.
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest, MAX_HEAD_BYTES } from '../../src/codec/http-connect.js';
import { decodeProxyRequest } from '../../src/codec/http-proxy-request.js';
import { decodeDnsTcpFrame, encodeDnsTcpFrame } from '../../src/codec/dns-tcp-frame.js';
import { decodeSocksAddr, encodeSocksAddr } from '../../src/codec/socks-addr.js';
import { decodeSocks4Reply, decodeSocks4Request, encodeSocks4Reply, encodeSocks4Request } from '../../src/codec/socks4.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader } from '../../src/codec/socks5-udp.js';
import * as s5 from '../../src/codec/socks5.js';
import {
  basicAuth,
  byte,
  bytes,
  connectResponse,
  encodeConnectResponse,
  httpAddr,
  ipv4Text,
  port,
  socks4Addr,
  socksAddr,
  utf8,
} from '../helpers/codec-arbitraries.js';
import { fuzzRuns, streamDecoderProperty, type StreamDecode } from '../helpers/fuzz.js';
import { fuzzInputs } from '../helpers/mutate.js';

/** An absolute-form request as a browser sends it to a proxy, with a Proxy-Authorization header. */
const absoluteRequest = fc
  .tuple(fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE'), httpAddr, fc.stringMatching(/^\/[a-z0-9/?=&.%-]{0,40}$/), basicAuth)
  .map(([method, addr, path, auth]) => {
    const host = addr.kind === 'ipv6' ? `[${addr.host}]` : addr.host;
    const authLine = auth ? `Proxy-Authorization: Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}\r\n` : '';
    return Buffer.from(`${method} http://${host}:${addr.port}${path} HTTP/1.1\r\nHost: ${host}\r\n${authLine}Accept: */*\r\n\r\n`, 'latin1');
  });

/** A response head of exactly `size` bytes (one long header): around the 16 KiB limit. */
function headOfSize(size: number): Buffer {
  const start = 'HTTP/1.1 200 OK\r\nx-pad: ';
  return Buffer.from(`${start}${'a'.repeat(Math.max(0, size - start.length - 4))}\r\n\r\n`, 'latin1');
}
const nearHeadLimit = fc.integer({ min: MAX_HEAD_BYTES - 8, max: MAX_HEAD_BYTES + 8 }).map(headOfSize);

const targets: Array<[string, StreamDecode, fc.Arbitrary<Buffer>]> = [
  ['socks-addr', decodeSocksAddr, socksAddr.map((a) => encodeSocksAddr(a))],
  ['socks5 greeting', s5.decodeGreeting, fc.array(byte, { minLength: 1, maxLength: 255 }).map(s5.encodeGreeting)],
  ['socks5 method selection', s5.decodeMethodSelection, byte.map(s5.encodeMethodSelection)],
  [
    'socks5 user/pass request',
    s5.decodeUserPassRequest,
    fc.tuple(utf8(1, 255, true), utf8(0, 255, true)).map(([u, p]) => s5.encodeUserPassRequest(u, p)),
  ],
  ['socks5 user/pass reply', s5.decodeUserPassReply, byte.map(s5.encodeUserPassReply)],
  ['socks5 request', s5.decodeRequest, fc.tuple(byte, socksAddr).map(([command, addr]) => s5.encodeRequest(command, addr))],
  ['socks5 reply', s5.decodeReply, fc.tuple(byte, socksAddr).map(([reply, bound]) => s5.encodeReply(reply, bound))],
  [
    'socks4 request',
    decodeSocks4Request,
    fc
      .record({ command: fc.constantFrom(1 as const, 2 as const), addr: socks4Addr, userId: utf8(0, 255, false) })
      .map(encodeSocks4Request),
  ],
  ['socks4 reply', decodeSocks4Reply, fc.tuple(byte, ipv4Text, port).map(([code, host, p]) => encodeSocks4Reply(code, { kind: 'ipv4', host, port: p }))],
  ['http CONNECT request', decodeConnectRequest, fc.tuple(httpAddr, basicAuth).map(([addr, auth]) => encodeConnectRequest(addr, { basicAuth: auth }))],
  [
    'http proxy request',
    decodeProxyRequest,
    fc.oneof(fc.tuple(httpAddr, basicAuth).map(([addr, auth]) => encodeConnectRequest(addr, { basicAuth: auth })), absoluteRequest),
  ],
  ['http CONNECT response', decodeConnectResponse, fc.oneof({ weight: 9, arbitrary: connectResponse.map(encodeConnectResponse) }, nearHeadLimit)],
  [
    'socks5 UDP header',
    decodeSocks5UdpHeader,
    fc.tuple(byte, socksAddr, bytes(32)).map(([frag, addr, payload]) => Buffer.concat([encodeSocks5UdpHeader({ frag, addr }), payload])),
  ],
  ['DNS TCP frame', decodeDnsTcpFrame, bytes(600, 12).map(encodeDnsTcpFrame)],
];

for (const [name, decode, valid] of targets) {
  test(`fuzz ${name}: NEED_MORE, a message or a CodecError, the same however the bytes arrive`, () => {
    fc.assert(streamDecoderProperty(decode, fuzzInputs(valid)), fuzzRuns());
  });
}
