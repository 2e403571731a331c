import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import dnsPacket, { type RecordAnswer } from 'dns-packet';
import { pino } from 'pino';
import { DNS_TCP_MAX_MESSAGE, encodeDnsTcpFrame } from '../../../src/codec/dns-tcp-frame.js';
import { AnsweredNames } from '../../../src/dns/answered-names.js';
import { DnsCache } from '../../../src/dns/cache.js';
import { DnsHandler } from '../../../src/dns/handler.js';
import { Resolver } from '../../../src/dns/resolver.js';
import { singleResolverSet } from '../../../src/dns/split-dns.js';
import { TcpDnsTransport } from '../../../src/dns/tcp-transport.js';
import { directOutbound, startDnsServer } from '../../helpers/dns-upstream.js';
import { compressedAResponse } from '../../helpers/dns-wire.js';

/** The client every query here comes from. */
const LOOPBACK = { host: '127.0.0.1', port: 5353 };

const log = pino({ level: 'silent' });
const RECORDS = 4000;

/** A handler whose resolver asks a local DNS-over-TCP server answering every question with RECORDS compressed A records. */
async function bigAnswers(now: () => number, maxBytes = 8 << 20, answered?: AnsweredNames) {
  const upstream = await startDnsServer((query, socket) => {
    socket.write(encodeDnsTcpFrame(compressedAResponse(query.id!, query.questions![0].name, RECORDS)));
  });
  const cache = new DnsCache({ size: 4096, maxBytes, minTtlS: 0, maxTtlS: 3600, maxNegativeTtlS: 600 }, now);
  const resolver = new Resolver(singleResolverSet([new TcpDnsTransport({ kind: 'ipv4', host: '192.0.2.53', port: 53 }, directOutbound(upstream.port), { poolSize: 1, idleMs: 10_000 })]), cache, { timeoutMs: 2000 }, log);
  after(() => (resolver.close(), upstream.server.close()));
  return { handler: new DnsHandler(resolver, undefined, log, answered), resolver, cache };
}

const query = (name: string, id: number, edns: boolean) =>
  dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }], additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 }] : [] });

test('an answer that fits a TCP frame as the resolver compressed it reaches a TCP client whole, asked or cached', async () => {
  let now = 1_000_000;
  const { handler, resolver } = await bigAnswers(() => now);
  for (const [id, name] of [[1, 'big.lab.test'], [2, 'BIG.lab.TEST']] as const) {
    const reply = (await handler.handle(query(name, id, true), 'tcp', LOOPBACK))!;
    assert.ok(reply.length <= DNS_TCP_MAX_MESSAGE, `${reply.length} bytes: more than a TCP frame holds`);
    assert.doesNotThrow(() => encodeDnsTcpFrame(reply));
    const decoded = dnsPacket.decode(reply);
    assert.equal(decoded.id, id);
    assert.equal(decoded.questions![0].name, name);
    assert.equal(decoded.answers!.length, RECORDS);
    assert.equal((decoded.answers![RECORDS - 1] as RecordAnswer).data, `198.18.${(RECORDS - 1) >> 8}.${(RECORDS - 1) & 0xff}`);
    assert.equal((decoded.answers![0] as RecordAnswer).ttl, id === 1 ? 300 : 290, 'TTLs count down in the cache');
    now += 10_500;
  }
  assert.equal(resolver.upstreamQueries, 1);
  assert.equal(resolver.cacheHits, 1);
});

test('over UDP the same answer is the question alone with TC, from the cache too', async () => {
  const { handler } = await bigAnswers(Date.now);
  for (const id of [1, 2]) {
    const decoded = dnsPacket.decode((await handler.handle(query('big.lab.test', id, true), 'udp', LOOPBACK))!);
    assert.equal(decoded.flag_tc, true);
    assert.deepEqual([decoded.id, decoded.answers!.length], [id, 0]);
  }
});

test('cached answers take at most max_bytes, however many questions are asked', async () => {
  const { handler, cache } = await bigAnswers(Date.now, 2 << 20);
  for (let i = 0; i < 60; i++) await handler.handle(query(`q${i}.lab.test`, i, false), 'tcp', LOOPBACK);
  // each answer is 64 KB on the wire (72 KB with its TTL offsets): 2 MiB holds about 28 of them
  assert.ok(cache.size >= 20 && cache.size <= 32, `${cache.size} answers of 64 KB cached in 2 MiB`);
});

test('every real answer is remembered for its client: its addresses name the (normalised) question', async () => {
  const answered = new AnsweredNames({ capacity: 100_000 });
  const { handler } = await bigAnswers(Date.now, 8 << 20, answered);
  await handler.handle(query('Big.Lab.Test', 1, true), 'tcp', { host: '192.0.2.2', port: 5353 });
  assert.equal(answered.nameFor('192.0.2.2', '198.18.0.0'), 'big.lab.test');
  assert.equal(answered.nameFor('192.0.2.2', `198.18.${(RECORDS - 1) >> 8}.${(RECORDS - 1) & 0xff}`), 'big.lab.test');
  assert.equal(answered.nameFor('192.0.2.3', '198.18.0.0'), undefined);
});
