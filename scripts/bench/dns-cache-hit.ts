/**
 * CPU cost of a DNS cache hit for a large answer: the handler answers one question whose cached
 * answer holds RECORDS A records (compressed, as a real resolver sends them), over TCP and over UDP
 * (where it is truncated), and the heap each such cached answer takes.
 * Run: node --expose-gc --import tsx scripts/bench/dns-cache-hit.ts [RECORDS] [HITS]
 */
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { encodeDnsTcpFrame } from '../../src/codec/dns-tcp-frame.js';
import { DnsCache } from '../../src/dns/cache.js';
import { DnsHandler } from '../../src/dns/handler.js';
import { Resolver } from '../../src/dns/resolver.js';
import { singleResolverSet } from '../../src/dns/split-dns.js';
import { TcpDnsTransport } from '../../src/dns/tcp-transport.js';
import { directOutbound, startDnsServer } from '../../test/helpers/dns-upstream.js';
import { compressedAResponse } from '../../test/helpers/dns-wire.js';

/** The client every query here comes from. */
const LOOPBACK = { host: '127.0.0.1', port: 5353 };

const records = Number(process.argv[2] ?? 4000);
const hits = Number(process.argv[3] ?? 2000);
const NAME = 'big.bench.test';

const upstream = await startDnsServer((query, socket) => {
  socket.write(encodeDnsTcpFrame(compressedAResponse(query.id!, query.questions![0].name, records)));
});
const log = pino({ level: 'silent' });
const cache = new DnsCache({ size: 4096, maxBytes: 8 << 20, minTtlS: 0, maxTtlS: 86_400, maxNegativeTtlS: 900 });
const resolver = new Resolver(singleResolverSet([new TcpDnsTransport({ kind: 'ipv4', host: '192.0.2.53', port: 53 }, directOutbound(upstream.port), { poolSize: 1, idleMs: 10_000 })]), cache, { timeoutMs: 3000 }, log);
const handler = new DnsHandler(resolver, undefined, log);

const query = (edns: boolean) =>
  dnsPacket.encode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: NAME, type: 'A' }], additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232 }] : [] });

const first = await handler.handle(query(false), 'tcp', LOOPBACK);
console.log(`miss: ${first?.length} bytes, ${dnsPacket.decode(first!).answers?.length} answers; ${query(false).length}-byte query`);
for (const [via, edns] of [['tcp', false], ['udp', true]] as const) {
  const raw = query(edns);
  for (let i = 0; i < 50; i++) await handler.handle(raw, via, LOOPBACK); // warm up the JIT
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < hits; i++) bytes += (await handler.handle(raw, via, LOOPBACK))!.length;
  const wallUs = Number(process.hrtime.bigint() - started) / 1000 / hits;
  const spent = process.cpuUsage(cpu);
  const cpuUs = (spent.user + spent.system) / hits;
  console.log(`hit over ${via}: ${(cpuUs / 1000).toFixed(3)} ms CPU, ${(wallUs / 1000).toFixed(3)} ms wall per query (${bytes / hits} bytes out), ${resolver.cacheHits} hits`);
}
// Memory per cached answer: the growth of the heap and Buffers for ENTRIES more such answers (run with --expose-gc).
const ENTRIES = 20;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const used = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
const before = used();
for (let i = 0; i < ENTRIES; i++) {
  await handler.handle(dnsPacket.encode({ id: i, type: 'query', questions: [{ name: `m${i}.${NAME}`, type: 'A' }] }), 'tcp', LOOPBACK);
}
gc?.();
const perEntry = (used() - before) / ENTRIES;
console.log(`${cache.size} entries; memory per cached answer ${(perEntry / 1024).toFixed(0)} KiB${gc ? '' : ' (without --expose-gc: rough)'}`);
resolver.close();
upstream.server.close();
