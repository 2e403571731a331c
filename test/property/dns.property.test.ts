import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DnsTcpFrameReader, encodeDnsTcpFrame } from '../../src/codec/dns-tcp-frame.js';
import { NEED_MORE } from '../../src/core/need-more.js';
import { sniffHost } from '../../src/codec/sniff/index.js';
import { captureClientHello } from '../helpers/client-hello.js';
import { bytes } from '../helpers/codec-arbitraries.js';
import { split } from '../helpers/fuzz.js';

// Malformed frames and queries, the DNS handler and the sniffers on any bytes are fuzzed in
// fuzz-codec, fuzz-dns and fuzz-sniff.test.ts; here: what valid input must give.
const RUNS = { numRuns: 500 };

test('DNS TCP frames: messages come out as they went in, however the stream is split', () => {
  fc.assert(
    fc.property(fc.array(bytes(600, 12), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
      const stream = Buffer.concat(messages.map(encodeDnsTcpFrame));
      const reader = new DnsTcpFrameReader();
      const out = split(stream, cuts).flatMap((chunk) => reader.push(chunk));
      assert.deepEqual(out, messages);
      assert.equal(reader.buffered, 0);
    }),
    RUNS,
  );
});

const hostname = fc.domain().filter((d) => !/^[\d.]+$/.test(d));

test('sniffers: every prefix of a request says NEED_MORE or already the final answer', async () => {
  const hellos = await Promise.all(['a.test', 'web.lab.test', 'x'.repeat(60) + '.example'].map((n) => captureClientHello(n)));
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...hellos), hostname.map((h) => Buffer.from(`GET /p HTTP/1.1\r\nUser-Agent: t\r\nHost: ${h}\r\n\r\n`))), fc.nat(), (request, cut) => {
      const final = sniffHost(request);
      assert.equal(typeof final, 'string');
      const prefix = sniffHost(request.subarray(0, cut % (request.length + 1)));
      assert.ok(prefix === NEED_MORE || prefix === final, `prefix gave ${String(prefix)}`);
    }),
    RUNS,
  );
});
