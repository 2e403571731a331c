import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import type { UdpAssociation, UdpAssociationEvents, UdpDialer } from '../../../src/relay/udp-association.js';
import { createUdpCounters } from '../../../src/relay/udp-counters.js';
import { UdpNat } from '../../../src/relay/udp-nat.js';

const log = pino({ level: 'silent' });
const client = (port: number): SocksAddr => ({ kind: 'ipv4', host: '192.0.2.2', port });
const dst: SocksAddr = { kind: 'ipv4', host: '198.51.100.2', port: 53 };
const datagram = (text: string, headroom = 10) => Buffer.concat([Buffer.alloc(headroom), Buffer.from(text)]);
const flush = () => new Promise((r) => setImmediate(r));

/** A dialer whose associations open when the test says so and record what they were sent. */
class FakeDialer implements UdpDialer {
  readonly name = 'fake';
  readonly opened: { client: SocksAddr; events: UdpAssociationEvents; sent: string[]; closed: boolean; resolve(): void; reject(err: Error): void }[] = [];
  associate(c: SocksAddr, events: UdpAssociationEvents): Promise<UdpAssociation> {
    return new Promise((resolve, reject) => {
      const rec = {
        client: c,
        events,
        sent: [] as string[],
        closed: false,
        resolve: () =>
          resolve({
            relay: 'fake:1',
            send: (_d: SocksAddr, data: Buffer, headroom: number) => (rec.sent.push(data.subarray(headroom).toString()), true),
            close: () => (rec.closed = true),
          }),
        reject,
      };
      this.opened.push(rec);
    });
  }
}

function nat(opts: Partial<{ max: number; idleMs: number; queueDatagrams: number; queueBytes: number }> = {}) {
  let now = 0;
  const dialer = new FakeDialer();
  const counters = createUdpCounters();
  const delivered: [string, string, string][] = [];
  const table = new UdpNat({
    maxAssociations: opts.max ?? 10,
    idleMs: opts.idleMs ?? 60_000,
    queueDatagrams: opts.queueDatagrams ?? 4,
    queueBytes: opts.queueBytes ?? 1000,
    pickDialer: () => dialer,
    deliver: (from, to, payload) => delivered.push([`${from.host}:${from.port}`, `${to.host}:${to.port}`, payload.toString()]),
    counters,
    log,
    now: () => now,
  });
  return { table, dialer, counters, delivered, tick: (ms: number) => (now += ms) };
}

test('udp-nat: one association per client address:port; datagrams queue until it opens', async () => {
  const { table, dialer, counters } = nat();
  table.handle(client(1000), dst, datagram('a'), 10);
  table.handle(client(1000), dst, datagram('b'), 10);
  table.handle(client(1001), dst, datagram('c'), 10);
  assert.equal(dialer.opened.length, 2);
  dialer.opened[0].resolve();
  await flush();
  assert.deepEqual(dialer.opened[0].sent, ['a', 'b']);
  table.handle(client(1000), dst, datagram('d'), 10);
  assert.deepEqual(dialer.opened[0].sent, ['a', 'b', 'd']);
  assert.equal(counters.datagramsOut, 3);
  table.close();
  assert.equal(dialer.opened[0].closed, true);
});

test('udp-nat: the pre-association queue is bounded by count and bytes; overflow is counted', async () => {
  const { table, dialer, counters } = nat({ queueDatagrams: 3, queueBytes: 5 });
  // 'cc' would make 6 bytes; 'd' fits (5 bytes, 3 datagrams); 'e' would be a 4th datagram.
  for (const t of ['aa', 'bb', 'cc', 'd', 'e']) table.handle(client(1), dst, datagram(t), 10);
  assert.equal(counters.droppedQueueFull, 2);
  dialer.opened[0].resolve();
  await flush();
  assert.deepEqual(dialer.opened[0].sent, ['aa', 'bb', 'd']);
  table.close();
});

test('udp-nat: replies from any remote go to the client; they keep the association alive', async () => {
  const { table, dialer, delivered, counters, tick } = nat({ idleMs: 1000 });
  table.handle(client(5), dst, datagram('q'), 10);
  dialer.opened[0].resolve();
  await flush();
  tick(900);
  dialer.opened[0].events.onReply({ kind: 'ipv4', host: '203.0.113.10', port: 9 }, Buffer.from('r'));
  tick(900);
  assert.equal(table.sweep(), 0);
  assert.deepEqual(delivered, [['203.0.113.10:9', '192.0.2.2:5', 'r']]);
  tick(100);
  assert.equal(table.sweep(), 1);
  assert.equal(counters.associationsExpired, 1);
  assert.equal(dialer.opened[0].closed, true);
  table.close();
});

test('udp-nat: at the cap the least recently used association is closed', async () => {
  const { table, dialer, counters } = nat({ max: 2 });
  for (const p of [1, 2]) table.handle(client(p), dst, datagram('x'), 10);
  for (const o of dialer.opened) o.resolve();
  await flush();
  table.handle(client(1), dst, datagram('y'), 10); // 2 is now the least recently used
  table.handle(client(3), dst, datagram('z'), 10);
  assert.equal(dialer.opened[1].closed, true);
  assert.equal(dialer.opened[0].closed, false);
  assert.equal(counters.associationsEvicted, 1);
  assert.equal(table.size, 2);
  table.close();
});

test('udp-nat: an upstream without UDP drops and counts; the next datagram tries again', async () => {
  const { table, dialer, counters } = nat();
  table.handle(client(1), dst, datagram('a'), 10);
  table.handle(client(1), dst, datagram('b'), 10);
  dialer.opened[0].reject(new SgError(ErrorCode.UDP_UNSUPPORTED, 'no'));
  await flush();
  assert.equal(counters.droppedNoUdp, 2);
  assert.equal(table.size, 0);
  table.handle(client(1), dst, datagram('c'), 10);
  assert.equal(dialer.opened.length, 2);
  dialer.opened[1].reject(new Error('ECONNREFUSED'));
  await flush();
  assert.equal(counters.droppedAssociationFailed, 1);
  assert.equal(counters.associationsFailed, 2);
  table.close();
});

test('udp-nat: an association that ends by itself is forgotten; one evicted while opening is closed when it opens', async () => {
  const { table, dialer, counters } = nat({ max: 1 });
  table.handle(client(1), dst, datagram('a'), 10);
  dialer.opened[0].resolve();
  await flush();
  dialer.opened[0].events.onClose('control connection closed');
  assert.equal(table.size, 0);
  assert.equal(counters.associationsClosed, 1);
  table.handle(client(2), dst, datagram('b'), 10);
  table.handle(client(3), dst, datagram('c'), 10); // evicts client 2 while it is still opening
  dialer.opened[1].resolve();
  await flush();
  assert.equal(dialer.opened[1].closed, true);
  assert.deepEqual(dialer.opened[1].sent, []);
  table.close();
});
