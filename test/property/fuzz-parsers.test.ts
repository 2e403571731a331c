// Fuzz: the parsers that are not stream decoders. Kernel socket addresses and IP bytes give a value
// or a CodecError; the text parsers behind config values and flags (address blocks, host:port,
// CIDRs, upstream and DNS resolver URLs) give a value or their documented RangeError, whose message
// quotes the input it refused (with any password redacted), never another exception.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBasicCredentials } from '../../src/codec/http-proxy-request.js';
import { parseIpBlock } from '../../src/codec/ip-block.js';
import { decodeIpv4, decodeIpv6, encodeIp, parseIp } from '../../src/codec/ip.js';
import { decodeSockaddr, encodeSockaddr } from '../../src/codec/sockaddr.js';
import { parseDnsUpstreamUrl } from '../../src/config/dns-upstream-url.js';
import { parseUpstreamUrl } from '../../src/config/upstream-url.js';
import { parseHostPort } from '../../src/core/addr.js';
import { parseCidr } from '../../src/core/cidr.js';
import { bytes, ipv4Text, ipv6Text, port, utf8 } from '../helpers/codec-arbitraries.js';
import { fuzzRuns, outcomeOf } from '../helpers/fuzz.js';
import { fuzzInputs, mutated } from '../helpers/mutate.js';

test('fuzz sockaddr: an address or a CodecError', () => {
  const sockaddr = fc.oneof(
    fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text, port }),
    fc.record({ kind: fc.constant('ipv6' as const), host: ipv6Text, port }),
  );
  fc.assert(
    fc.property(fuzzInputs(sockaddr.map(encodeSockaddr), 40), (buf) => {
      const outcome = outcomeOf(() => decodeSockaddr(buf));
      if ('value' in outcome) assert.ok(encodeIp(outcome.value.kind === 'ipv4' ? 'ipv4' : 'ipv6', outcome.value.host).length > 0);
    }),
    fuzzRuns(),
  );
});

test('fuzz IP bytes and text: decoders give text or a CodecError at any offset; parseIp never throws', () => {
  const offset = fc.oneof(fc.integer({ min: -2, max: 24 }), fc.constantFrom(0.5, Number.NaN, Infinity));
  const near = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%/[] '.split(''), '::', '255', '.0'), maxLength: 48 });
  fc.assert(
    fc.property(bytes(24), offset, fc.oneof(near, ipv6Text, ipv4Text, fc.string({ unit: 'binary', maxLength: 48 })), (buf, at, text) => {
      for (const decode of [decodeIpv4, decodeIpv6]) outcomeOf(() => decode(buf, at));
      for (const kind of ['ipv4', 'ipv6'] as const) {
        const parsed = parseIp(kind, text);
        assert.ok(parsed === undefined || parsed.length === (kind === 'ipv4' ? 4 : 16));
        outcomeOf(() => encodeIp(kind, text));
      }
    }),
    fuzzRuns(),
  );
});

test('fuzz Proxy-Authorization values: credentials, undefined (another scheme) or a CodecError', () => {
  const basic = fc.tuple(utf8(0, 40, true), utf8(0, 40, true)).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`);
  const value = fc.oneof(basic, basic.map((v) => v.slice(0, v.length - 1)), fc.string({ unit: 'binary', maxLength: 64 }));
  fc.assert(
    fc.property(value, (text) => {
      const outcome = outcomeOf(() => decodeBasicCredentials(text));
      if ('value' in outcome && outcome.value !== undefined) assert.equal(typeof outcome.value.password, 'string');
    }),
    fuzzRuns(),
  );
});

// ---- text parsers: a value or the RangeError that quotes the refused input ----

/** Valid text with its UTF-8 bytes mutated, read back as UTF-8 or Latin-1; or random text. */
function fuzzText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const alphabet = fc.constantFrom(...'0123456789abcdefxyz:./[]%@?=&#-_ '.split(''), '::', '//', '%ff', '%E0%A4', 'socks5://', 'tcp://');
  return fc.oneof(
    valid,
    fc.tuple(mutated(valid.map((t) => Buffer.from(t))), fc.constantFrom('utf8' as const, 'latin1' as const)).map(([buf, enc]) => buf.toString(enc)),
    fc.string({ unit: alphabet, maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  );
}

/** Runs `parse`; a refusal must be a RangeError naming the quoted input and never `secret`. */
function refusesPlainly(parse: () => unknown, secret?: string): void {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof RangeError) || !err.message.startsWith('"')) throw err;
    if (secret) assert.ok(!err.message.includes(secret), `the message shows the password: ${err.message}`);
  }
}

const host = fc.oneof(ipv4Text, ipv6Text.map((h) => `[${h}]`), fc.domain());
const hostPort = fc.tuple(host, fc.option(port, { nil: undefined })).map(([h, p]) => (p === undefined ? h : `${h}:${p}`));
const block = fc.oneof(
  fc.tuple(ipv4Text, fc.integer({ min: 0, max: 33 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(ipv6Text, fc.integer({ min: 0, max: 129 })).map(([a, n]) => `${a}/${n}`),
  ipv4Text,
);

test('fuzz address blocks (dns.fake_ip.ranges, rules.bypass): a block or a RangeError quoting the input', () => {
  fc.assert(
    fc.property(fuzzText(block), (text) => {
      refusesPlainly(() => parseIpBlock(text));
      refusesPlainly(() => parseCidr(text));
    }),
    fuzzRuns(),
  );
});

test('fuzz host:port (listeners) and DNS resolver URLs: an address or a RangeError quoting the input', () => {
  const resolver = fc.tuple(fc.constantFrom('tcp', 'udp', 'TCP', 'tls'), hostPort).map(([s, hp]) => `${s}://${hp}`);
  fc.assert(
    fc.property(fuzzText(hostPort), fuzzText(resolver), (listen, url) => {
      refusesPlainly(() => parseHostPort(listen));
      refusesPlainly(() => parseHostPort(listen, 53));
      refusesPlainly(() => parseDnsUpstreamUrl(url));
    }),
    fuzzRuns(),
  );
});

test('fuzz upstream URLs: an upstream or a RangeError quoting the redacted URL, never the password', () => {
  const password = 'pw-Secret-42';
  const credentials = fc.option(
    fc.tuple(utf8(0, 12, true), fc.boolean()).map(([user, withPassword]) => `${encodeURIComponent(user)}${withPassword ? `:${password}` : ''}@`),
    { nil: '' },
  );
  const params = fc.constantFrom('', '?pipelining=off', '?password_env=PW&name=a', '?x=%zz');
  const url = fc
    .tuple(fc.constantFrom('socks5', 'socks4', 'socks4a', 'http', 'https'), credentials, hostPort, params)
    .map(([scheme, userinfo, hp, query]) => `${scheme}://${userinfo}${hp}${query}`);
  fc.assert(
    // A mutation that cut the ':' or the '@' around the password left nothing marking it as one.
    fc.property(fuzzText(url), (text) => refusesPlainly(() => parseUpstreamUrl(text), text.includes(`:${password}`) && /@/.test(text.slice(text.indexOf(password))) ? password : undefined)),
    fuzzRuns(),
  );
});
