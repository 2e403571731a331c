// Fuzz: DNS as socksgate's listeners see it. A client's query (random bytes, mutated queries: counts,
// label lengths and compression pointers forged) is parsed without a throw and answered with a
// response carrying its id, or FORMERR/NOTIMP, or silence; a resolver's reply (mutated answers to
// the question asked) is taken or ignored, never thrown on, and whatever it held the handler answers
// within the client's UDP limit. A TCP stream of mutated frames gives the same messages however split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type Answer, type Question } from 'dns-packet';
import fc from 'fast-check';
import { pino } from 'pino';
import { DnsTcpFrameReader, encodeDnsTcpFrame } from '../../src/codec/dns-tcp-frame.js';
import { parseIpBlock } from '../../src/codec/ip-block.js';
import { decodeIpv6 } from '../../src/codec/ip.js';
import { SgError } from '../../src/core/errors.js';
import { DnsCache } from '../../src/dns/cache.js';
import { FakeIp } from '../../src/dns/fake-ip.js';
import { FakeIpPool } from '../../src/dns/fake-ip-pool.js';
import { DnsHandler } from '../../src/dns/handler.js';
import { parseClientQuery, udpLimit } from '../../src/dns/message.js';
import { Resolver } from '../../src/dns/resolver.js';
import { singleResolverSet } from '../../src/dns/split-dns.js';
import { matchUpstreamResponse } from '../../src/dns/upstream-query.js';
import { bytes, ipv4Text, ipv6Bytes } from '../helpers/codec-arbitraries.js';
import { cuts, fuzzRuns, outcomeOf, split } from '../helpers/fuzz.js';
import { applyMutation, fuzzInputs, mutation, type Mutation } from '../helpers/mutate.js';

const silent = pino({ level: 'silent' });
const FAKE_V4 = '198.18.0.0/28';
/** Header AD and EDNS0 DO flags (RFC 4035), which the project's dns-packet typings leave out. */
const AUTHENTIC_DATA = 1 << 5;
const DNSSEC_OK = 1 << 15;

// ---- what clients ask ----

const reverseV4 = fc.tuple(fc.nat(15), ipv4Text).map(([n, a]) => (n % 2 ? `${n}.0.18.198.in-addr.arpa` : `${a.split('.').reverse().join('.')}.in-addr.arpa`));
const reverseV6 = ipv6Bytes.map((b) => `${[...b.toString('hex')].reverse().join('.')}.ip6.arpa`);
const qname = fc.oneof(
  { weight: 4, arbitrary: fc.domain() },
  reverseV4,
  reverseV6,
  fc.constantFrom('.', 'localhost', 'a..b', `${'x'.repeat(63)}.test`),
  fc.stringMatching(/^[!-~]{1,30}$/),
);
const qtype = fc.oneof(
  fc.constantFrom('A', 'AAAA', 'PTR', 'MX', 'TXT', 'SRV', 'ANY', 'CNAME', 'OPT', 'AXFR'),
  fc.integer({ min: 0, max: 0xffff }).map((n) => `UNKNOWN_${n}`),
);
const question: fc.Arbitrary<Question> = fc.record({
  name: qname,
  type: qtype as fc.Arbitrary<Question['type']>,
  class: fc.constantFrom('IN', 'IN', 'IN', 'CH', 'ANY') as fc.Arbitrary<Question['class']>,
});
const ednsOption = fc.record({ code: fc.constantFrom(3, 10, 65001), data: bytes(16) });

const query = fc
  .record({
    id: fc.nat(0xffff),
    flags: fc.subarray([dnsPacket.RECURSION_DESIRED, dnsPacket.CHECKING_DISABLED, AUTHENTIC_DATA]),
    questions: fc.oneof({ weight: 9, arbitrary: question.map((q) => [q]) }, fc.array(question, { maxLength: 3 })),
    edns: fc.option(fc.record({ size: fc.nat(0xffff), dnssec: fc.boolean(), options: fc.array(ednsOption, { maxLength: 2 }) }), { nil: undefined }),
  })
  .map((q) =>
    dnsPacket.encode({
      id: q.id,
      type: 'query',
      flags: q.flags.reduce((a, b) => a | b, 0),
      questions: q.questions,
      additionals: q.edns
        ? [{ type: 'OPT', name: '.', udpPayloadSize: q.edns.size, flags: q.edns.dnssec ? DNSSEC_OK : 0, options: q.edns.options }]
        : [],
    }),
  );

// ---- what resolvers answer ----

const ttl = fc.nat(0x7fffffff);
const record = (name: string): fc.Arbitrary<Answer> =>
  fc.oneof(
    fc.record({ type: fc.constant('A' as const), name: fc.constant(name), ttl, data: ipv4Text }),
    fc.record({ type: fc.constant('AAAA' as const), name: fc.constant(name), ttl, data: ipv6Bytes.map((b) => decodeIpv6(b, 0)) }),
    fc.record({ type: fc.constantFrom('CNAME' as const, 'PTR' as const, 'NS' as const), name: fc.constant(name), ttl, data: fc.domain() }),
    fc.record({ type: fc.constant('TXT' as const), name: fc.constant(name), ttl, data: fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }) }),
    fc.record({ type: fc.constant('MX' as const), name: fc.constant(name), ttl, data: fc.record({ preference: fc.nat(0xffff), exchange: fc.domain() }) }),
    fc.record({
      type: fc.constant('SOA' as const),
      name: fc.constant(name),
      ttl,
      data: fc.record({ mname: fc.domain(), rname: fc.domain(), serial: fc.nat(), refresh: fc.nat(), retry: fc.nat(), expire: fc.nat(), minimum: fc.nat() }),
    }),
  ) as fc.Arbitrary<Answer>;

/** A resolver's reply to `q`, as the records to put in it and the mutations to apply to its bytes. */
const upstreamReply = fc.record({
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED: the low four bits of the flags. */
  rcode: fc.constantFrom(0, 0, 3, 2, 5),
  answers: fc.array(record('@'), { maxLength: 6 }),
  authorities: fc.array(record('@'), { maxLength: 2 }),
  mutations: fc.array(mutation, { maxLength: 3 }),
});
type UpstreamReply = typeof upstreamReply extends fc.Arbitrary<infer T> ? T : never;

function encodeUpstreamReply(id: number, q: Question, reply: UpstreamReply): Buffer {
  const named = (list: Answer[]) => list.map((a) => ({ ...a, name: q.name }) as Answer);
  const raw = dnsPacket.encode({
    id,
    type: 'response',
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED | reply.rcode,
    questions: [q],
    answers: named(reply.answers),
    authorities: named(reply.authorities),
  });
  return reply.mutations.reduce<Buffer>((buf, m: Mutation) => applyMutation(buf, m), raw);
}

/**
 * A response with the query's id, or nothing; within the client's UDP limit over UDP. Only the
 * header is ours to check: records are the resolver's bytes, forwarded as they came (wire form).
 */
function checkReply(raw: Buffer, reply: Buffer | undefined, via: 'udp' | 'tcp'): void {
  const parsed = parseClientQuery(raw);
  if (reply === undefined) return;
  assert.ok(reply.length >= 12, 'a whole header');
  assert.ok((reply[2] & 0x80) !== 0, 'a response');
  assert.equal(reply.readUInt16BE(0), raw.readUInt16BE(0));
  // FORMERR (1) or NOTIMP (4), from our own encoder.
  if (!parsed.ok) assert.ok([1, 4].includes(reply[3] & 0x0f), `rcode ${reply[3] & 0x0f}`);
  else if (via === 'udp') assert.ok(reply.length <= udpLimit(parsed.query), `${reply.length} bytes over UDP, limit ${udpLimit(parsed.query)}`);
  else outcomeOf(() => encodeDnsTcpFrame(reply), []);
}

/** The query a resolver reply answers: id and question as the transports send them. */
function sentQuery(id: number, q: Question): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [q] });
}

test('fuzz DNS client queries: parsed, or FORMERR/NOTIMP with their id, or silence; never a throw', () => {
  fc.assert(
    fc.property(fuzzInputs(query, 80), (raw) => {
      const parsed = outcomeOf(() => parseClientQuery(raw), []);
      assert.ok('value' in parsed);
      if (parsed.value.ok) return;
      checkReply(raw, parsed.value.reply, 'udp');
    }),
    fuzzRuns(),
  );
});

test('fuzz DNS resolver replies: taken only when they answer the question, never a throw', () => {
  fc.assert(
    fc.property(fc.nat(0xffff), question, upstreamReply, (id, q, reply) => {
      const raw = encodeUpstreamReply(id, q, reply);
      const result = outcomeOf(() => matchUpstreamResponse(raw, sentQuery(id, q)), []);
      if ('value' in result && result.value && reply.mutations.length === 0) assert.equal(dnsPacket.decode(result.value.message).answers?.length ?? 0, reply.answers.length);
    }),
    fuzzRuns(),
  );
});

test('fuzz the DNS handler: any query and any resolver reply give a well-formed answer or silence, never a rejection', async () => {
  const fakeIp = new FakeIp({ pools: [new FakeIpPool(parseIpBlock(FAKE_V4), { capacity: 8, reuseAfterMs: 0 })], ttlS: 1, exclude: ['excluded.test'], log: silent });
  await fc.assert(
    // Valid queries as often as broken ones: they are what reaches the resolver and the encoder.
    fc.asyncProperty(fc.oneof(query, fuzzInputs(query, 80)), upstreamReply, fc.constantFrom('udp' as const, 'tcp' as const), fc.boolean(), async (raw, reply, via, withFakeIp) => {
      const transport = {
        name: 'fuzz',
        exchange(q: Question): Promise<ReturnType<typeof matchUpstreamResponse> & object> {
          const result = matchUpstreamResponse(encodeUpstreamReply(7, q, reply), sentQuery(7, q));
          return result ? Promise.resolve(result) : Promise.reject(new SgError('SG_ERR_DNS_UPSTREAM_FAILED', 'reply does not match'));
        },
        close() {},
      };
      const cache = new DnsCache({ size: 16, maxBytes: 1 << 20, minTtlS: 0, maxTtlS: 60, maxNegativeTtlS: 60 });
      const handler = new DnsHandler(new Resolver(singleResolverSet([transport]), cache, { timeoutMs: 1_000 }, silent), withFakeIp ? fakeIp : undefined, silent);
      checkReply(raw, await handler.handle(raw, via, { host: '127.0.0.1', port: 5353 }), via);
    }),
    fuzzRuns(1_000),
  );
});

test('fuzz DNS over TCP framing: a stream of mutated frames gives the same messages (or CodecError) however split', () => {
  const stream = fc.array(fuzzInputs(bytes(80, 12), 40).map(encodeDnsTcpFrame), { maxLength: 4 }).map((frames) => Buffer.concat(frames));
  /** Everything the reader yields for `chunks`, then how it stopped: a CodecError code, or the bytes left over. */
  const read = (chunks: Buffer[]) => {
    const reader = new DnsTcpFrameReader();
    const messages: Buffer[] = [];
    const end = outcomeOf(() => {
      for (const chunk of chunks) messages.push(...reader.push(chunk));
      return reader.buffered;
    });
    return { messages, end: 'error' in end ? end.error.code : end.value };
  };
  fc.assert(
    fc.property(fuzzInputs(stream, 200), cuts, (buf, at) => {
      const whole = read([buf]);
      const pieces = read(split(buf, at));
      // An error stops the reader where it stands: a split stream may have yielded a frame more first.
      if (typeof whole.end === 'string') assert.equal(pieces.end, whole.end);
      else assert.deepStrictEqual(pieces, whole);
    }),
    fuzzRuns(),
  );
});
