import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SocksAddr } from '../../src/core/addr.js';
import { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest } from '../../src/codec/http-connect.js';
import { decodeIpv4, decodeIpv6, encodeIp, parseIp } from '../../src/codec/ip.js';
import { CodecError, NEED_MORE, type Decoded } from '../../src/core/need-more.js';
import { decodeSocksAddr, encodeSocksAddr, socksAddrLength } from '../../src/codec/socks-addr.js';
import {
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
} from '../../src/codec/socks4.js';
import * as s5 from '../../src/codec/socks5.js';

const RUNS = { numRuns: 500 };

// ---- value generators ----

const byte = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 0, max: 65535 });
const bytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

const ipv4Text = fc.tuple(byte, byte, byte, byte).map((o) => o.join('.'));
const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
/** Every way of writing an IPv6 address that a caller might hand us. */
const ipv6Text = fc.oneof(
  fc.ipV6(),
  ipv6Bytes.map((b) => decodeIpv6(b, 0)),
  ipv6Bytes.map((b) => [...Array(8).keys()].map((i) => b.readUInt16BE(i * 2).toString(16).padStart(4, '0').toUpperCase()).join(':')),
  fc.tuple(ipv6Bytes, ipv4Text).map(([b, v4]) => `${[0, 1, 2, 3, 4, 5].map((i) => b.readUInt16BE(i * 2).toString(16)).join(':')}:${v4}`),
  ipv4Text.map((v4) => `::ffff:${v4}`),
);
const canonical6 = (text: string): string => new URL(`http://[${text}]`).hostname.slice(1, -1);

const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);
const utf8 = (min: number, max: number, allowNul: boolean): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 90 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: max }),
      fc.string({ unit: 'grapheme-ascii', minLength: Math.max(min, max - 2), maxLength: max }), // at the limit
    )
    .filter((s) => wellFormed(s) && (allowNul || !s.includes('\0')) && Buffer.byteLength(s) >= min && Buffer.byteLength(s) <= max);

const socksAddr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text, port }),
  fc.record({ kind: fc.constant('ipv6' as const), host: ipv6Text, port }),
  fc.record({ kind: fc.constant('domain' as const), host: utf8(1, 255, false), port }),
);
/** What a decoder gives back for `addr`: IPv6 in canonical text, everything else as sent. */
const decodedAddr = (addr: SocksAddr): SocksAddr =>
  addr.kind === 'ipv6' ? { ...addr, host: canonical6(addr.host) } : { ...addr };

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

const socks4Addr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text.filter((t) => !/^0\.0\.0\.[1-9]/.test(t)), port }),
  fc.record({ kind: fc.constant('domain' as const), host: utf8(1, 255, false), port }),
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

const httpDomain = fc.oneof(fc.domain(), fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=]{1,40}$/)).filter((h) => !parseIp('ipv4', h));
const httpAddr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text, port }),
  fc.record({ kind: fc.constant('ipv6' as const), host: ipv6Text, port }),
  fc.record({ kind: fc.constant('domain' as const), host: httpDomain, port }),
);
const basicAuth = fc.option(
  fc.record({ username: utf8(0, 40, true).filter((u) => !u.includes(':')), password: utf8(0, 40, true) }),
  { nil: undefined },
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

// No encoder for responses in the codec (we only ever receive them), so build one here,
// mixing CRLF and bare LF line ends the way sloppy proxies do.
const response = fc.record({
  status: fc.integer({ min: 100, max: 599 }),
  reason: fc.stringMatching(/^[ -~]{0,30}$/),
  headers: fc.uniqueArray(
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.stringMatching(/^([!-~]([ -~]{0,30}[!-~])?)?$/)),
    { maxLength: 6, selector: ([name]) => name },
  ),
  eols: fc.array(fc.constantFrom('\r\n', '\n'), { minLength: 8, maxLength: 8 }),
});
framingProperty(
  'http CONNECT response',
  response,
  (r) => {
    const lines = [`HTTP/1.1 ${r.status} ${r.reason}`, ...r.headers.map(([n, v]) => `${n}: ${v}`), ''];
    return Buffer.from(lines.map((l, i) => l + r.eols[i]).join(''), 'latin1');
  },
  (r) => ({ status: r.status, reason: r.reason, headers: Object.fromEntries(r.headers) }),
  decodeConnectResponse,
);

// ---- garbage in: only NEED_MORE, a sane result, or CodecError ----

const decoders: Array<[string, Decode<unknown>]> = [
  ['socks-addr', decodeSocksAddr],
  ['socks5 greeting', s5.decodeGreeting],
  ['socks5 method selection', s5.decodeMethodSelection],
  ['socks5 user/pass request', s5.decodeUserPassRequest],
  ['socks5 user/pass reply', s5.decodeUserPassReply],
  ['socks5 request', s5.decodeRequest],
  ['socks5 reply', s5.decodeReply],
  ['socks4 request', decodeSocks4Request],
  ['socks4 reply', decodeSocks4Reply],
  ['http CONNECT request', decodeConnectRequest],
  ['http CONNECT response', decodeConnectResponse],
];

function survives(decode: Decode<unknown>, buf: Buffer, offset: number): void {
  try {
    const r = decode(buf, offset);
    if (r !== NEED_MORE) assert.ok(r.bytesRead >= 1 && r.bytesRead <= buf.length - offset, `bytesRead ${r.bytesRead}`);
  } catch (e) {
    assert.ok(e instanceof CodecError, `threw ${String(e)}`);
    assert.match(e.code, /^[A-Z0-9_]+$/);
  }
}

// Random bytes rarely get past a version check, so also try plausible starts followed by
// bytes drawn mostly from the values these formats care about.
const interesting = fc.constantFrom(0, 1, 2, 3, 4, 5, 0x0a, 0x0d, 0x20, 0x3a, 0x5b, 0x5d, 0x2e, 0x61, 0x31, 0xff, 0xc3);
const starts = ['', '05', '0501', '050100', '0500', '01', '0104', '03', '04', '0401', '00', 'HTTP/1.1 ', 'CONNECT ', 'HTTP/1.1 200 OK\r\n'];
const garbage = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.constantFrom(...starts), fc.array(fc.oneof(interesting, byte), { maxLength: 300 })).map(([s, rest]) =>
    Buffer.concat([/^[0-9a-f]*$/.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'latin1'), Buffer.from(rest)]),
  ),
);

for (const [name, decode] of decoders) {
  test(`${name}: garbage in gives NEED_MORE, a result or CodecError`, () => {
    fc.assert(
      fc.property(garbage, fc.nat(), (buf, n) => survives(decode, buf, buf.length === 0 ? 0 : n % (buf.length + 1))),
      RUNS,
    );
  });
}

test('mutated valid messages give NEED_MORE, a result or CodecError', () => {
  const valid = fc.oneof(
    socksAddr.map(encodeSocksAddr),
    fc.record({ command: byte, addr: socksAddr }).map((r) => s5.encodeRequest(r.command, r.addr)),
    fc.record({ u: utf8(1, 255, true), p: utf8(0, 255, true) }).map((c) => s5.encodeUserPassRequest(c.u, c.p)),
    fc.record({ command: fc.constantFrom(1 as const, 2 as const), addr: socks4Addr, userId: utf8(0, 255, false) }).map(encodeSocks4Request),
    httpAddr.map((a) => encodeConnectRequest(a)),
  );
  fc.assert(
    fc.property(valid, fc.nat(), byte, (wire, at, value) => {
      const bad = Buffer.from(wire);
      bad[at % bad.length] = value;
      for (const [, decode] of decoders) survives(decode, bad, 0);
    }),
    RUNS,
  );
});
