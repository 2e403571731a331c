import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type Question } from 'dns-packet';
import fc from 'fast-check';
import { pino } from 'pino';
import { decodeDnsTcpFrame, DnsTcpFrameReader, encodeDnsTcpFrame } from '../../src/codec/dns-tcp-frame.js';
import { CodecError, NEED_MORE } from '../../src/core/need-more.js';
import { sniffHttpHost } from '../../src/codec/sniff/http-host.js';
import { sniffHost } from '../../src/codec/sniff/index.js';
import { sniffTlsSni } from '../../src/codec/sniff/tls-sni.js';
import { DnsCache } from '../../src/dns/cache.js';
import { DnsHandler } from '../../src/dns/handler.js';
import { parseClientQuery } from '../../src/dns/message.js';
import { Resolver } from '../../src/dns/resolver.js';
import { singleResolverSet } from '../../src/dns/split-dns.js';
import { captureClientHello } from '../helpers/client-hello.js';
import { wireAnswer } from '../helpers/dns-wire.js';
import { bytes } from '../helpers/codec-arbitraries.js';
import { split } from '../helpers/fuzz.js';

/** The client every query here comes from. */
const LOOPBACK = { host: '127.0.0.1', port: 5353 };

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

test('DNS TCP frames: garbage gives a frame, NEED_MORE or a CodecError, nothing else', () => {
  fc.assert(
    fc.property(bytes(64), fc.nat(70), (buf, offset) => {
      try {
        const r = decodeDnsTcpFrame(buf, Math.min(offset, buf.length));
        if (r !== NEED_MORE) assert.ok(r.bytesRead >= 14 && r.value.length === r.bytesRead - 2);
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
    }),
    RUNS,
  );
});

function checkReply(raw: Buffer, reply: Buffer | undefined): void {
  if (reply === undefined) return;
  const decoded = dnsPacket.decode(reply);
  assert.equal(decoded.type, 'response');
  assert.equal(decoded.id, raw.readUInt16BE(0));
}

const validQuery = fc
  .record({ id: fc.nat(0xffff), name: fc.domain(), type: fc.constantFrom('A', 'AAAA', 'MX', 'TXT', 'PTR', 'SRV'), edns: fc.boolean() })
  .map(({ id, name, type, edns }) =>
    dnsPacket.encode({
      id,
      type: 'query',
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type }],
      additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 }] : [],
    }),
  );
/** Valid queries with bytes flipped, cut or appended: the inputs most likely to reach deep code. */
const mangledQuery = fc.tuple(validQuery, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.nat(), bytes(8)).map(([q, flips, cut, tail]) => {
  const out = Buffer.from(q);
  for (const [at, value] of flips) out[at % out.length] = value;
  return Buffer.concat([out.subarray(0, Math.max(12, cut % (out.length + 1))), tail]);
});

test('malformed DNS queries: FORMERR/NOTIMP with their id, or silence; never a throw', () => {
  fc.assert(
    fc.property(fc.oneof(bytes(80), mangledQuery), (raw) => {
      const parsed = parseClientQuery(raw);
      if (parsed.ok) return;
      checkReply(raw, parsed.reply);
      if (parsed.reply) assert.ok(['FORMERR', 'NOTIMP'].includes(dnsPacket.decode(parsed.reply).rcode!));
    }),
    RUNS,
  );
});

test('the DNS handler answers any input (or drops it) without rejecting', async () => {
  const answer = (question: Question) => wireAnswer(question, { answers: [{ type: 'A', name: question.name, ttl: 5, data: '192.0.2.1' }] });
  const transport = { name: 'stub', exchange: (question: Question) => Promise.resolve(answer(question)), close() {} };
  const resolver = new Resolver(singleResolverSet([transport]), new DnsCache({ size: 50, maxBytes: 1 << 20, minTtlS: 0, maxTtlS: 60, maxNegativeTtlS: 60 }), { timeoutMs: 100 }, pino({ level: 'silent' }));
  const handler = new DnsHandler(resolver, undefined, pino({ level: 'silent' }));
  await fc.assert(
    fc.asyncProperty(fc.oneof(bytes(80), mangledQuery, validQuery), fc.constantFrom('udp', 'tcp') as fc.Arbitrary<'udp' | 'tcp'>, async (raw, via) => {
      checkReply(raw, await handler.handle(raw, via, LOOPBACK));
    }),
    RUNS,
  );
});

const hostname = fc.domain().filter((d) => !/^[\d.]+$/.test(d));

test('sniffers: any bytes give a valid name, NEED_MORE or nothing; never a throw', async () => {
  const hello = await captureClientHello('web.lab.test');
  const mangledHello = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat()).map(([flips, cut]) => {
    const out = Buffer.from(hello);
    for (const [at, value] of flips) out[at % out.length] = value;
    return out.subarray(0, cut % (out.length + 1));
  });
  fc.assert(
    fc.property(fc.oneof(bytes(300), mangledHello, bytes(40).map((b) => Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: '), b]))), (buf) => {
      for (const sniff of [sniffTlsSni, sniffHttpHost, sniffHost]) {
        const result = sniff(buf);
        if (typeof result === 'string') assert.match(result, /^[a-z0-9_.-]+$/);
        else assert.ok(result === NEED_MORE || result === undefined);
      }
    }),
    RUNS,
  );
});

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
