// Fuzz: the TLS SNI and HTTP Host sniffers read a client's first bytes, whatever the client sends.
// Random bytes and mutated ClientHellos / request heads give a valid host name, NEED_MORE or
// nothing, never a throw; and a prefix that already decided agrees with the whole input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { sniffHttpHost } from '../../src/codec/sniff/http-host.js';
import { sniffHost, type SniffResult } from '../../src/codec/sniff/index.js';
import { sniffTlsSni } from '../../src/codec/sniff/tls-sni.js';
import { NEED_MORE } from '../../src/core/need-more.js';
import { byte, bytes } from '../helpers/codec-arbitraries.js';
import { captureClientHello } from '../helpers/client-hello.js';
import { assertSplitAnywhere, cuts, fuzzRuns, outcomeOf } from '../helpers/fuzz.js';
import { fuzzInputs } from '../helpers/mutate.js';

const u16 = (n: number) => Buffer.of(n >> 8, n & 0xff);
const withU16Length = (body: Buffer) => Buffer.concat([u16(body.length), body]);
const withU8Length = (body: Buffer) => Buffer.concat([Buffer.of(body.length), body]);

const name = fc.oneof(fc.domain(), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,19}(\.[A-Za-z0-9_][A-Za-z0-9_-]{0,19}){0,3}\.?$/));

/** A ClientHello (RFC 8446 §4.1.2) in one record, its server_name extension among others. */
const clientHello = fc
  .record({
    sessionId: bytes(32),
    suites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }),
    compression: bytes(3, 1),
    before: fc.array(fc.tuple(fc.integer({ min: 1, max: 0xffff }), bytes(12)), { maxLength: 3 }),
    after: fc.array(fc.tuple(fc.integer({ min: 1, max: 0xffff }), bytes(12)), { maxLength: 3 }),
    /** Entries of an unknown name_type may come first. */
    others: fc.array(fc.tuple(fc.integer({ min: 1, max: 255 }), name), { maxLength: 1 }),
    host: name,
  })
  .map((h) => {
    const extension = ([type, data]: readonly [number, Buffer]) => Buffer.concat([u16(type), withU16Length(data)]);
    const serverNames = Buffer.concat([...h.others, [0, h.host] as const].map(([type, host]) => Buffer.concat([Buffer.of(type), withU16Length(Buffer.from(host, 'latin1'))])));
    const extensions = [...h.before, [0, withU16Length(serverNames)] as const, ...h.after].map(extension);
    const body = Buffer.concat([
      Buffer.of(0x03, 0x03),
      Buffer.alloc(32, 0x5a),
      withU8Length(h.sessionId),
      withU16Length(Buffer.concat(h.suites.map(u16))),
      withU8Length(h.compression),
      withU16Length(Buffer.concat(extensions)),
    ]);
    const handshake = Buffer.concat([Buffer.of(0x01, 0, body.length >> 8, body.length & 0xff), body]);
    return Buffer.concat([Buffer.of(0x16, 0x03, 0x01), withU16Length(handshake)]);
  });

/** An HTTP/1.x request head with a Host field somewhere among others. */
const requestHead = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PROPFIND'),
    target: fc.stringMatching(/^\/[!-~]{0,30}$/),
    minor: fc.constantFrom('0', '1'),
    host: name,
    port: fc.option(fc.integer({ min: 0, max: 99999 }), { nil: undefined }),
    fields: fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.stringMatching(/^[ -~]{0,30}$/)), { maxLength: 4 }),
    at: fc.nat(),
  })
  .map((r) => {
    const fields = r.fields.map(([k, v]) => `${k}: ${v}`);
    fields.splice(r.at % (fields.length + 1), 0, `Host: ${r.host}${r.port === undefined ? '' : `:${r.port}`}`);
    return Buffer.from(`${r.method} ${r.target} HTTP/1.${r.minor}\r\n${fields.join('\r\n')}\r\n\r\n`, 'latin1');
  });

function sniffOutcome(sniff: (buf: Buffer) => SniffResult, buf: Buffer) {
  const outcome = outcomeOf(() => sniff(buf), []);
  const result = 'value' in outcome ? outcome.value : undefined;
  if (typeof result === 'string') assert.match(result, /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/, 'a lower-case host name without a trailing dot');
  else assert.ok(result === NEED_MORE || result === undefined, `sniffer returned ${String(result)}`);
  return outcome;
}

test('the generated ClientHellos and request heads carry their name (so the fuzz starts from valid input)', () => {
  for (const hello of fc.sample(clientHello, 50)) assert.equal(typeof sniffTlsSni(hello), 'string', hello.toString('hex'));
  for (const head of fc.sample(requestHead.filter((h) => !/Host: [\d.]+(:|\r)/.test(h.toString('latin1'))), 50)) {
    assert.notEqual(sniffHttpHost(head), NEED_MORE, head.toString('latin1'));
  }
});

test('fuzz sniffers: a host name, NEED_MORE or nothing, never a throw, the same however the bytes arrive', async () => {
  const real = await captureClientHello('web.lab.test');
  const valid = fc.oneof(clientHello, requestHead, fc.constant(real), byte.map((b) => Buffer.concat([real, Buffer.of(b)])));
  fc.assert(
    fc.property(fuzzInputs(valid), cuts, (input, at) => {
      for (const sniff of [sniffTlsSni, sniffHttpHost, sniffHost]) assertSplitAnywhere((n) => sniffOutcome(sniff, input.subarray(0, n)), input.length, at);
    }),
    fuzzRuns(),
  );
});
