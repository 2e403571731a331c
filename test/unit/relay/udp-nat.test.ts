import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import type { UdpAssociation, UdpAssociationEvents, UdpDialer } from '../../../src/adapter/udp.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';
import type { FakeDestinations } from '../../../src/relay/udp-fake-names.js';
import { UdpNat, type UdpNatOptions } from '../../../src/relay/udp-nat.js';
import { parseIpBlock } from '../../../src/codec/ip-block.js';
import { FakeIp } from '../../../src/dns/fake-ip.js';
import { FakeIpPool } from '../../../src/dns/fake-ip-pool.js';

const log = pino({ level: 'silent' });
const client = (port: number): SocksAddr => ({ kind: 'ipv4', host: '192.0.2.2', port });
const dst: SocksAddr = { kind: 'ipv4', host: '198.51.100.2', port: 53 };
const datagram = (text: string, headroom = 10) => Buffer.concat([Buffer.alloc(headroom), Buffer.from(text)]);
const flush = () => new Promise((r) => setImmediate(r));

/**
 * A dialer whose associations open when the test says so and record what they were sent. Like the
 * real one, an aborted dial rejects; `settled` counts the dials no longer in flight.
 */
class FakeDialer implements UdpDialer {
  settled = 0;
  constructor(
    private readonly ignoreAbort = false,
    readonly name = 'fake',
  ) {}
  readonly opened: { client: SocksAddr; events: UdpAssociationEvents; signal?: AbortSignal; sent: string[]; to: string[]; closed: boolean; resolve(): void; reject(err: Error): void }[] = [];
  associate(c: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    const dial = new Promise<UdpAssociation>((resolve, reject) => {
      if (!this.ignoreAbort) signal?.addEventListener('abort', () => reject(new SgError(ErrorCode.ABORTED, 'aborted')), { once: true });
      const rec = {
        client: c,
        events,
        signal,
        sent: [] as string[],
        to: [] as string[],
        closed: false,
        resolve: () =>
          resolve({
            relay: 'fake:1',
            send: (d: SocksAddr, data: Buffer, headroom: number) => (rec.to.push(`${d.kind === 'domain' ? 'name:' : ''}${d.host}:${d.port}`), rec.sent.push(data.subarray(headroom).toString()), true),
            close: () => (rec.closed = true),
          }),
        reject,
      };
      this.opened.push(rec);
    });
    const settled = () => void this.settled++;
    dial.then(settled, settled);
    return dial;
  }

  get inFlight(): number {
    return this.opened.length - this.settled;
  }
}

/** The table with one dialer for every datagram unless a test names another (the router's choice). */
class OneDialerNat extends UdpNat {
  constructor(
    opts: UdpNatOptions,
    private readonly dialer: UdpDialer,
  ) {
    super(opts);
  }

  override handle(src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number, dialer: UdpDialer = this.dialer): void {
    super.handle(src, dst, data, headroom, dialer);
  }
}

function nat(opts: Partial<{ max: number; maxPending: number; ignoreAbort: boolean; idleMs: number; queueDatagrams: number; queueBytes: number; fakeIp: FakeDestinations; log: typeof log }> = {}) {
  let now = 0;
  const dialer = new FakeDialer(opts.ignoreAbort);
  const counters = createUdpCounters();
  const delivered: [string, string, string][] = [];
  const table = new OneDialerNat({
    maxAssociations: opts.max ?? 10,
    maxPendingAssociations: opts.maxPending ?? 10,
    idleMs: opts.idleMs ?? 60_000,
    queueDatagrams: opts.queueDatagrams ?? 4,
    queueBytes: opts.queueBytes ?? 1000,
    deliver: (from, to, payload) => delivered.push([`${from.host}:${from.port}`, `${to.host}:${to.port}`, payload.toString()]),
    counters,
    log: opts.log ?? log,
    now: () => now,
    fakeIp: opts.fakeIp,
  }, dialer);
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

test('udp-nat: an association that ends by itself is forgotten; one evicted while opening is closed if it opens anyway', async () => {
  const { table, dialer, counters } = nat({ max: 1, ignoreAbort: true });
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

test('udp-nat: at most max_pending associations open at once; datagrams of more new clients are dropped and counted', async () => {
  const { table, dialer, counters } = nat({ max: 100_000, maxPending: 64 });
  // Spoofed sources, each a new client, while the upstream never answers.
  for (let i = 0; i < 50_000; i++) table.handle({ kind: 'ipv4', host: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 9 }, dst, datagram('x'), 10);
  assert.equal(dialer.opened.length, 64, 'upstream dials started');
  assert.equal(counters.droppedPendingLimit, 50_000 - 64);
  assert.equal(table.size, 64);
  // A datagram of a client already opening still queues; one dial done makes room for one more.
  table.handle({ kind: 'ipv4', host: '10.0.0.0', port: 9 }, dst, datagram('y'), 10);
  assert.equal(counters.droppedPendingLimit, 50_000 - 64);
  dialer.opened[0].resolve();
  await flush();
  assert.deepEqual(dialer.opened[0].sent, ['x', 'y']);
  table.handle(client(1), dst, datagram('z'), 10);
  table.handle(client(2), dst, datagram('z'), 10);
  assert.equal(dialer.opened.length, 65);
  assert.equal(counters.droppedPendingLimit, 50_000 - 64 + 1);
  table.close();
  await flush();
  assert.equal(dialer.inFlight, 0, 'closing the table aborts every dial in progress');
});

test('udp-nat: evicting an association still opening aborts its dial; the dial stops counting as pending', async () => {
  const { table, dialer, counters } = nat({ max: 2, maxPending: 3 });
  for (const p of [1, 2, 3]) table.handle(client(p), dst, datagram('x'), 10); // 3 evicts 1 while it opens
  assert.equal(dialer.opened.length, 3);
  assert.equal(dialer.opened[0].signal?.aborted, true);
  assert.equal(dialer.opened[1].signal?.aborted, false);
  await flush();
  assert.equal(dialer.inFlight, 2);
  assert.equal(counters.associationsEvicted, 1);
  assert.equal(counters.associationsFailed, 0, 'an aborted dial is no failure: it was closed (evicted)');
  // 1's dial ended, so 4 may open (3 in flight); it evicts 2, whose dial is aborted too.
  table.handle(client(4), dst, datagram('x'), 10);
  assert.equal(dialer.opened.length, 4);
  assert.equal(dialer.opened[1].signal?.aborted, true);
  table.handle(client(5), dst, datagram('x'), 10);
  assert.equal(counters.droppedPendingLimit, 1, 'an aborted dial counts until it has ended');
  await flush();
  assert.equal(dialer.inFlight, 2);
  table.close();
});

/** A fake-IP mapper over 198.18.0.0/15 holding two names; counts its calls. */
function fakeMapper() {
  const names = new Map([['198.18.0.1', 'echo.lab.test'], ['198.18.0.2', 'other.lab.test']]);
  const mapper = {
    calls: 0,
    hold: (address: string) => names.has(address),
    release: () => {},
    mapDestination: (d: SocksAddr): SocksAddr | undefined => {
      mapper.calls++;
      if (!d.host.startsWith('198.18.') && !d.host.startsWith('198.19.')) return d;
      const name = names.get(d.host);
      return name === undefined ? undefined : { kind: 'domain', host: name, port: d.port };
    },
  };
  return mapper;
}
const fake = (n: number, port: number): SocksAddr => ({ kind: 'ipv4', host: `198.18.0.${n}`, port });
const remote = (host: string, port: number): SocksAddr => ({ kind: 'ipv4', host, port });

test('udp-nat fake-IP: a pool address goes upstream by name; the name\'s replies come back from the pool address', async () => {
  const mapper = fakeMapper();
  const { table, dialer, delivered, counters } = nat({ fakeIp: mapper });
  table.handle(client(1), fake(1, 7001), datagram('a'), 10); // queued while the association opens
  dialer.opened[0].resolve();
  await flush();
  table.handle(client(1), fake(1, 7001), datagram('b'), 10);
  table.handle(client(1), dst, datagram('c'), 10); // a real address passes unchanged
  assert.deepEqual(dialer.opened[0].to, ['name:echo.lab.test:7001', 'name:echo.lab.test:7001', '198.51.100.2:53']);
  const events = dialer.opened[0].events;
  // Dante reports the address it resolved the name to: the first reply on the port is the name's.
  events.onReply(remote('203.0.113.10', 7001), Buffer.from('A'));
  events.onReply(remote('203.0.113.10', 7001), Buffer.from('B'));
  events.onReply(dst, Buffer.from('C')); // the remote addressed by IP keeps its own address
  events.onReply(remote('203.0.113.99', 7001), Buffer.from('D')); // a third party, once the name is bound, too
  assert.deepEqual(delivered, [
    ['198.18.0.1:7001', '192.0.2.2:1', 'A'],
    ['198.18.0.1:7001', '192.0.2.2:1', 'B'],
    ['198.51.100.2:53', '192.0.2.2:1', 'C'],
    ['203.0.113.99:7001', '192.0.2.2:1', 'D'],
  ]);
  assert.equal(counters.datagramsOut, 3);
  assert.equal(counters.droppedNoMapping, 0);
  // The pool is asked once per remote (and once more for the datagram that opened the association).
  assert.equal(mapper.calls, 3);
  table.close();
});

test('udp-nat fake-IP: a relay that names the source is mapped by name; a remote addressed by IP is never bound', async () => {
  const mapper = fakeMapper();
  const { table, dialer, delivered } = nat({ fakeIp: mapper });
  // The application talks to a real address on the port first, then to a name on the same port.
  table.handle(client(2), remote('203.0.113.10', 53), datagram('a'), 10);
  table.handle(client(2), fake(2, 53), datagram('b'), 10);
  dialer.opened[0].resolve();
  await flush();
  const events = dialer.opened[0].events;
  events.onReply(remote('203.0.113.10', 53), Buffer.from('A')); // not the name's answer
  events.onReply({ kind: 'domain', host: 'other.lab.test', port: 53 }, Buffer.from('B'));
  events.onReply(remote('198.51.100.7', 53), Buffer.from('C')); // the name's resolved address
  events.onReply(remote('198.51.100.7', 54), Buffer.from('D')); // another port: nothing sent to the name there
  assert.deepEqual(delivered, [
    ['203.0.113.10:53', '192.0.2.2:2', 'A'],
    ['198.18.0.2:53', '192.0.2.2:2', 'B'],
    ['198.18.0.2:53', '192.0.2.2:2', 'C'],
    ['198.51.100.7:54', '192.0.2.2:2', 'D'],
  ]);
  // Two clients, two associations: bindings are per association.
  table.handle(client(3), fake(1, 53), datagram('c'), 10);
  dialer.opened[1].resolve();
  await flush();
  dialer.opened[1].events.onReply(remote('198.51.100.7', 53), Buffer.from('E'));
  assert.deepEqual(delivered.at(-1), ['198.18.0.1:53', '192.0.2.2:3', 'E']);
  table.close();
});

test('udp-nat fake-IP: a pool address without a name is dropped, counted, and logged at most every 10 s', async () => {
  const lines: { msg: string; dst: string; reason: string; suppressed: number }[] = [];
  const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const mapper = fakeMapper();
  const { table, dialer, counters, tick } = nat({ fakeIp: mapper, log: capture });
  const unmapped = remote('198.19.255.200', 7001);
  table.handle(client(4), unmapped, datagram('a'), 10);
  assert.equal(dialer.opened.length, 0, 'no association for a datagram that goes nowhere');
  table.handle(client(4), fake(1, 7001), datagram('b'), 10);
  table.handle(client(4), unmapped, datagram('c'), 10);
  dialer.opened[0].resolve();
  await flush();
  table.handle(client(4), unmapped, datagram('d'), 10);
  assert.deepEqual(dialer.opened[0].sent, ['b']);
  assert.equal(counters.droppedNoMapping, 3);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].dst, '198.19.255.200:7001');
  assert.equal(lines[0].reason, ErrorCode.NO_MAPPING);
  tick(10_000);
  table.handle(client(4), unmapped, datagram('e'), 10);
  assert.equal(counters.droppedNoMapping, 4);
  assert.equal(lines.length, 2);
  assert.equal(lines[1].suppressed, 2);
  table.close();
});

test('udp-nat fake-IP: a live association holds the pool addresses it sends to; closed, they are recycled after the grace period', async () => {
  let now = 0;
  const pool = new FakeIpPool(parseIpBlock('198.18.0.0/30'), { capacity: 10, reuseAfterMs: 600_000, now: () => now });
  const fakeIp = new FakeIp({ pools: [pool], ttlS: 1, exclude: [], log });
  const ask = (name: string) => fakeIp.answer({ name, type: 'A', class: 'IN' })!;
  ask('quic.test'); // 198.18.0.1
  ask('b.test'); // 198.18.0.2
  const { table, dialer } = nat({ fakeIp, idleMs: 10_000_000 });
  table.handle(client(1), fake(1, 443), datagram('a'), 10);
  dialer.opened[0].resolve();
  await flush();
  now += 3_600_000; // an hour of traffic that never asks the pool again
  assert.equal(ask('c.test').answers.length, 1, 'b.test, unused, is recycled');
  assert.equal(ask('d.test').rcode, 'SERVFAIL', 'quic.test is held by the association');
  table.handle(client(1), fake(1, 443), datagram('b'), 10);
  assert.deepEqual(dialer.opened[0].to, ['name:quic.test:443', 'name:quic.test:443']);
  table.close();
  now += 599_999;
  pool.nameOf('198.18.0.2'); // c.test in use
  assert.equal(ask('d.test').rcode, 'SERVFAIL');
  now += 1;
  assert.equal((ask('d.test').answers[0] as { data: string }).data, '198.18.0.1');
});

test('udp-nat: without a mapper, pool addresses are ordinary destinations', async () => {
  const { table, dialer, delivered } = nat();
  table.handle(client(5), fake(1, 7001), datagram('a'), 10);
  dialer.opened[0].resolve();
  await flush();
  dialer.opened[0].events.onReply(remote('203.0.113.10', 7001), Buffer.from('A'));
  assert.deepEqual(dialer.opened[0].to, ['198.18.0.1:7001']);
  assert.deepEqual(delivered, [['203.0.113.10:7001', '192.0.2.2:5', 'A']]);
  table.close();
});

test('udp-nat: one association per client and outbound: the router may send one client\'s datagrams through two', async () => {
  const { table, dialer } = nat();
  const other = new FakeDialer(false, 'other');
  table.handle(client(1000), dst, datagram('a'), 10);
  table.handle(client(1000), dst, datagram('b'), 10, other);
  assert.equal(dialer.opened.length, 1);
  assert.equal(other.opened.length, 1);
  dialer.opened[0].resolve();
  other.opened[0].resolve();
  await flush();
  assert.deepEqual(dialer.opened[0].sent, ['a']);
  assert.deepEqual(other.opened[0].sent, ['b']);
  assert.equal(table.size, 2);
  table.close();
});
