import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import dnsPacket, { type Packet } from 'dns-packet';
import { encodeDnsTcpFrame } from '../../../src/codec/dns-tcp-frame.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import { TcpDnsTransport } from '../../../src/dns/tcp-transport.js';
import { MAX_PENDING_QUERIES } from '../../../src/dns/upstream-query.js';
import { directOutbound, startDnsServer, type Reply } from '../../helpers/dns-upstream.js';
import { answerData } from '../../helpers/dns-wire.js';

async function dnsServer(reply: Reply): ReturnType<typeof startDnsServer> {
  const dns = await startDnsServer(reply);
  after(() => dns.server.close());
  return dns;
}

function answerTo(query: Packet, data: string, overrides: Partial<Packet> = {}): Buffer {
  const q = query.questions![0];
  return encodeDnsTcpFrame(dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [q], answers: [{ type: 'A', name: q.name, ttl: 60, data }], ...overrides }));
}

const SERVER: SocksAddr = { kind: 'ipv4', host: '192.0.2.53', port: 53 };
const signal = () => AbortSignal.timeout(2_000);

test('many queries in flight on one connection, answered out of order, each matched to its question', async () => {
  const held: [Packet, Socket][] = [];
  const dns = await dnsServer((query, socket) => {
    held.push([query, socket]);
    if (held.length === 20) for (const [q, s] of held.reverse()) s.write(answerTo(q, `192.0.2.${Number(q.questions![0].name.split('.')[0].slice(1))}`));
  });
  const outbound = directOutbound(dns.port);
  const transport = new TcpDnsTransport(SERVER, outbound, { poolSize: 1, idleMs: 10_000 });
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => transport.exchange({ name: `q${i}.test`, type: 'A', class: 'IN' }, signal())));
  results.forEach((r, i) => assert.deepEqual(answerData(r.message), [`192.0.2.${i}`]));
  assert.equal(outbound.dials, 1);
  assert.equal(new Set(held.map(([q]) => q.id)).size, 20, 'ids are distinct on a connection');
  transport.close();
});

test('answers with the wrong id or question are ignored (no poisoning); the right one is taken', async () => {
  const dns = await dnsServer((query, socket) => {
    socket.write(answerTo({ ...query, id: (query.id! + 1) & 0xffff }, '203.0.113.66'));
    socket.write(answerTo(query, '203.0.113.66', { questions: [{ type: 'A', name: 'evil.test' }] }));
    socket.write(answerTo(query, '192.0.2.1'));
  });
  const transport = new TcpDnsTransport(SERVER, directOutbound(dns.port), { poolSize: 1, idleMs: 10_000 });
  const result = await transport.exchange({ name: 'good.test', type: 'A', class: 'IN' }, signal());
  assert.deepEqual(answerData(result.message), ['192.0.2.1']);
  transport.close();
});

test('a connection the server closed is replaced; a query sent as it closed is retried once', async () => {
  let served = 0;
  const dns = await dnsServer((query, socket) => {
    served++;
    if (served === 2) socket.destroy(); // idle timeout on the server, just as our second query arrives
    else socket.write(answerTo(query, '192.0.2.1'));
  });
  const outbound = directOutbound(dns.port);
  const transport = new TcpDnsTransport(SERVER, outbound, { poolSize: 1, idleMs: 10_000 });
  await transport.exchange({ name: 'a.test', type: 'A', class: 'IN' }, signal());
  const again = await transport.exchange({ name: 'b.test', type: 'A', class: 'IN' }, signal());
  assert.deepEqual(answerData(again.message), ['192.0.2.1']);
  assert.equal(outbound.dials, 2);
  transport.close();
});

test('a server that ends a connection after N queries (dnsmasq: 100): what it left unanswered goes on a new one at once', async () => {
  const perConnection = new Map<Socket, number>();
  const dns = await dnsServer((query, socket) => {
    const n = (perConnection.get(socket) ?? 0) + 1;
    perConnection.set(socket, n);
    if (n <= 2) socket.write(answerTo(query, '192.0.2.1'));
    if (n === 2) socket.end(); // FIN after its second answer; the third query is never answered there
  });
  const outbound = directOutbound(dns.port);
  const transport = new TcpDnsTransport(SERVER, outbound, { poolSize: 1, idleMs: 10_000 });
  const ask = (name: string) => transport.exchange({ name, type: 'A', class: 'IN' }, signal());
  await ask('warm.test'); // the connection has served one: a failure on it is worth a retry
  const results = await Promise.all([ask('a.test'), ask('b.test')]);
  for (const r of results) assert.deepEqual(answerData(r.message), ['192.0.2.1']);
  assert.equal(outbound.dials, 2);
  transport.close();
});

test('queries asked in one turn of the event loop leave in one write', async () => {
  const dns = await dnsServer((query, socket) => socket.write(answerTo(query, '192.0.2.1')));
  const outbound = directOutbound(dns.port);
  // frames per write the transport's socket makes: a write of its own, or one writev of several
  const writes: number[] = [];
  const dial = outbound.dial.bind(outbound);
  outbound.dial = async (...args) => {
    const socket = (await dial(...args)) as Socket & { _write: Function; _writev: Function };
    const [write, writev] = [socket._write.bind(socket), socket._writev.bind(socket)];
    socket._write = (...a: unknown[]) => (writes.push(1), write(...a));
    socket._writev = (chunks: unknown[], cb: unknown) => (writes.push(chunks.length), writev(chunks, cb));
    return socket;
  };
  const transport = new TcpDnsTransport(SERVER, outbound, { poolSize: 1, idleMs: 10_000 });
  await transport.exchange({ name: 'warm.test', type: 'A', class: 'IN' }, signal());
  await Promise.all(Array.from({ length: 5 }, (_, i) => transport.exchange({ name: `q${i}.test`, type: 'A', class: 'IN' }, signal())));
  assert.deepEqual(writes, [1, 5]);
  transport.close();
});

test('no answer before the deadline rejects with SG_ERR_DNS_TIMEOUT; a dead server with a dial error', async () => {
  const dns = await dnsServer(() => {});
  const transport = new TcpDnsTransport(SERVER, directOutbound(dns.port), { poolSize: 2, idleMs: 10_000 });
  await assert.rejects(transport.exchange({ name: 'a.test', type: 'A', class: 'IN' }, AbortSignal.timeout(50)), { code: 'SG_ERR_DNS_TIMEOUT' });
  transport.close();

  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  closed.close();
  const dead = new TcpDnsTransport(SERVER, directOutbound(port), { poolSize: 1, idleMs: 10_000 });
  await assert.rejects(dead.exchange({ name: 'a.test', type: 'A', class: 'IN' }, signal()), { code: 'ECONNREFUSED' });
});

test('a resolver that never answers: past MAX_PENDING_QUERIES on a connection a query fails at once (SG_ERR_DNS_BUSY), never a search for a free id', async () => {
  const dns = await dnsServer(() => {});
  const transport = new TcpDnsTransport(SERVER, directOutbound(dns.port), { poolSize: 1, idleMs: 10_000 });
  const stop = new AbortController();
  try {
    const held = Array.from({ length: MAX_PENDING_QUERIES }, (_, i) => transport.exchange({ name: `q${i}.test`, type: 'A', class: 'IN' }, stop.signal).catch((err: Error) => err));
    const extra = transport.exchange({ name: 'one-more.test', type: 'A', class: 'IN' }, stop.signal);
    const outcome = await Promise.race([extra.then(() => 'answered', (err: { code?: string }) => err.code), new Promise((r) => setTimeout(() => r('still waiting'), 500))]);
    assert.equal(outcome, 'SG_ERR_DNS_BUSY');
    stop.abort();
    for (const err of await Promise.all(held)) assert.equal((err as { code?: string }).code, 'SG_ERR_DNS_TIMEOUT');
    // the ids are free again once those queries gave up
    await assert.rejects(transport.exchange({ name: 'later.test', type: 'A', class: 'IN' }, AbortSignal.timeout(50)), { code: 'SG_ERR_DNS_TIMEOUT' });
  } finally {
    stop.abort();
    transport.close();
  }
});
