import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest } from '../../src/codec/http-connect.js';
import { decodeIpv4, decodeIpv6, encodeIp, parseIp } from '../../src/codec/ip.js';
import { NEED_MORE, type Decoded } from '../../src/core/need-more.js';
import { decodeSocksAddr, encodeSocksAddr, socksAddrLength } from '../../src/codec/socks-addr.js';
import {
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
} from '../../src/codec/socks4.js';
import * as s5 from '../../src/codec/socks5.js';
import {
  basicAuth,
  byte,
  bytes,
  canonical6,
  connectResponse,
  decodedAddr,
  encodeConnectResponse,
  httpAddr,
  ipv4Text,
  ipv6Bytes,
  ipv6Text,
  port,
  socks4Addr,
  socksAddr,
  utf8,
} from '../helpers/codec-arbitraries.js';

const RUNS = { numRuns: 500 };

// ---- the split-anywhere check, shared by every codec ----

type Decode<T> = (buf: Buffer, offset?: number) => Decoded<T>;

function checkFraming<T>(decode: Decode<T>, wire: Buffer, expected: T, junk: Buffer, lead: Buffer): void {
  for (let i = 0; i < wire.length; i++) {
    assert.equal(decode(wire.subarray(0, i)), NEED_MORE, `prefix of ${i}/${wire.length} bytes`);
    assert.equal(decode(Buffer.concat([lead, wire.subarray(0, i)]), lead.length), NEED_MORE, `offset prefix ${i}`);
  }
  const whole = { value: expected, bytesRead: wire.length };
  assert.deepStrictEqual(decode(wire), whole);
  assert.deepStrictEqual(decode(Buffer.concat([wire, junk])), whole, 'trailing bytes are not consumed');
  assert.deepStrictEqual(decode(Buffer.concat([lead, wire, junk]), lead.length), whole, 'nonzero offset');
}

function framingProperty<V, T>(name: string, values: fc.Arbitrary<V>, encode: (v: V) => Buffer, expect: (v: V) => T, decode: Decode<T>): void {
  test(`${name}: round trip, split anywhere, trailing bytes, offset`, () => {
    fc.assert(
      fc.property(values, bytes(16), bytes(8), (v, junk, lead) => {
        checkFraming(decode, encode(v), expect(v), junk, lead);
      }),
      RUNS,
    );
  });
}

// ---- round trips ----

test('ip: any IPv6 text encodes like Node parses it, and decodes like URL prints it', () => {
  fc.assert(
    fc.property(ipv6Text, (text) => {
      const wire = encodeIp('ipv6', text);
      assert.equal(decodeIpv6(wire, 0), canonical6(text));
      assert.deepEqual(encodeIp('ipv6', decodeIpv6(wire, 0)), wire);
    }),
    RUNS,
  );
  fc.assert(
    fc.property(ipv6Bytes, (wire) => assert.equal(decodeIpv6(wire, 0), canonical6(decodeIpv6(wire, 0)))),
    RUNS,
  );
  fc.assert(fc.property(ipv4Text, (text) => assert.equal(decodeIpv4(encodeIp('ipv4', text), 0), text)), RUNS);
});

test('ip: IPv6 acceptance agrees with node:net on near-miss strings', () => {
  const near = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''), '::', ':', '.'), maxLength: 45 });
  fc.assert(fc.property(near, (text) => assert.equal(parseIp('ipv6', text) !== undefined, isIPv6(text), text)), { numRuns: 2000 });
});

test('socks-addr: socksAddrLength matches the encoding', () => {
  fc.assert(fc.property(socksAddr, (addr) => assert.equal(socksAddrLength(addr), encodeSocksAddr(addr).length)), RUNS);
});

framingProperty('socks-addr', socksAddr, encodeSocksAddr, decodedAddr, decodeSocksAddr);

framingProperty('socks5 greeting', fc.array(byte, { minLength: 1, maxLength: 255 }), s5.encodeGreeting, (methods) => ({ methods }), s5.decodeGreeting);

framingProperty('socks5 method selection', byte, s5.encodeMethodSelection, (m) => m, s5.decodeMethodSelection);

framingProperty(
  'socks5 user/pass request',
  fc.record({ username: utf8(1, 255, true), password: utf8(0, 255, true) }),
  (c) => s5.encodeUserPassRequest(c.username, c.password),
  (c) => ({ ...c }),
  s5.decodeUserPassRequest,
);

framingProperty('socks5 user/pass reply', byte, s5.encodeUserPassReply, (status) => status, s5.decodeUserPassReply);

framingProperty(
  'socks5 request',
  fc.record({ command: byte, addr: socksAddr }),
  (r) => s5.encodeRequest(r.command, r.addr),
  (r) => ({ command: r.command, addr: decodedAddr(r.addr) }),
  s5.decodeRequest,
);

framingProperty(
  'socks5 reply',
  fc.record({ reply: byte, bound: socksAddr }),
  (r) => s5.encodeReply(r.reply, r.bound),
  (r) => ({ reply: r.reply, bound: decodedAddr(r.bound) }),
  s5.decodeReply,
);

framingProperty(
  'socks4 request',
  fc.record({ command: fc.constantFrom(1 as const, 2 as const), addr: socks4Addr, userId: utf8(0, 255, false) }),
  encodeSocks4Request,
  (r) => ({ command: r.command, addr: { ...r.addr }, userId: r.userId }),
  decodeSocks4Request,
);

framingProperty(
  'socks4 reply',
  fc.record({ code: byte, host: ipv4Text, port }),
  (r) => encodeSocks4Reply(r.code, { kind: 'ipv4', host: r.host, port: r.port }),
  (r) => ({ code: r.code }),
  decodeSocks4Reply,
);

framingProperty(
  'http CONNECT request',
  fc.record({ addr: httpAddr, auth: basicAuth }),
  (r) => encodeConnectRequest(r.addr, { basicAuth: r.auth }),
  (r) => {
    const target = decodedAddr(r.addr);
    const host = target.kind === 'ipv6' ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
    const headers: Record<string, string> = { host };
    if (r.auth) headers['proxy-authorization'] = `Basic ${Buffer.from(`${r.auth.username}:${r.auth.password}`).toString('base64')}`;
    return { target, headers };
  },
  decodeConnectRequest,
);

framingProperty(
  'http CONNECT response',
  connectResponse,
  encodeConnectResponse,
  (r) => ({ status: r.status, reason: r.reason, headers: Object.fromEntries(r.headers) }),
  decodeConnectResponse,
);
