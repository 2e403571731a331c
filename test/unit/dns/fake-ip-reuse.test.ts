// When a fake-IP address may go to another name: never while a flow holds it or within the grace
// period after its last use, so one client's flood of names cannot take over another's addresses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { SocksAddr } from '../../../src/core/addr.js';
import { newFlow, type Flow } from '../../../src/core/flow.js';
import type { FlowObserver } from '../../../src/adapter/flow-observer.js';
import { parseIpBlock } from '../../../src/codec/ip-block.js';
import { FakeIp } from '../../../src/dns/fake-ip.js';
import { FakeIpFlowHolds } from '../../../src/dns/fake-ip-flows.js';
import { FakeIpPool } from '../../../src/dns/fake-ip-pool.js';

const GRACE_MS = 600_000;

/** A /29: six addresses, .1 to .6, on a clock the test moves. */
function pool() {
  let now = 0;
  const p = new FakeIpPool(parseIpBlock('198.18.0.0/29'), { capacity: 100, reuseAfterMs: GRACE_MS, now: () => now });
  return { pool: p, tick: (ms: number) => (now += ms) };
}

function flood(p: FakeIpPool, count: number, prefix = 'attacker'): (string | undefined)[] {
  return Array.from({ length: count }, (_, i) => p.addressFor(`${prefix}-${i}.example`)?.address);
}

test('fake-IP pool: a flood of new names never takes an address used within the grace period; they are refused', () => {
  const { pool: p, tick } = pool();
  assert.equal(p.addressFor('victim.example')?.address, '198.18.0.1');
  tick(1000);
  const given = flood(p, 65_536);
  assert.deepEqual(given.slice(0, 6), ['198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.0.5', '198.18.0.6', undefined]);
  assert.equal(given.filter((a) => a !== undefined).length, 5);
  assert.equal(p.nameOf('198.18.0.1'), 'victim.example', "the victim's cached address still leads to its name");
  tick(GRACE_MS - 1001);
  assert.equal(p.addressFor('late.example'), undefined, 'still within the grace period of the oldest');
});

test('fake-IP pool: after the grace period the least recently used address is recycled; each use restarts it', () => {
  const { pool: p, tick } = pool();
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) {
    p.addressFor(name);
    tick(1000);
  }
  tick(GRACE_MS);
  assert.equal(p.nameOf('198.18.0.1'), 'a'); // a flow to a's address: a is in use again
  p.addressFor('b'); // an answer for b, too
  assert.deepEqual(p.addressFor('g'), { address: '198.18.0.3', created: true }, 'c: unused for longest');
  assert.equal(p.nameOf('198.18.0.3'), 'g');
  assert.equal(p.addressFor('c')?.address, '198.18.0.4', 'c, back, takes the next one past its grace period');
  assert.deepEqual(flood(p, 3), ['198.18.0.5', '198.18.0.6', undefined], 'a and b were used just now');
  tick(GRACE_MS);
  assert.equal(p.addressFor('h')?.address, '198.18.0.1');
});

test('fake-IP pool: a held address is never recycled, however long ago it was used; the grace period starts at its release', () => {
  let now = 0;
  const p = new FakeIpPool(parseIpBlock('198.18.0.0/30'), { capacity: 100, reuseAfterMs: GRACE_MS, now: () => now });
  const recent = () => p.nameOf('198.18.0.2'); // the other address: always just used
  assert.deepEqual(flood(p, 2, 'n'), ['198.18.0.1', '198.18.0.2']);
  assert.equal(p.hold('198.18.0.1'), true);
  assert.equal(p.hold('198.18.0.1'), true); // a second flow to it
  assert.equal(p.hold('198.18.0.3'), false, 'broadcast: no name');
  now += 10 * GRACE_MS;
  assert.deepEqual(flood(p, 2, 'm'), ['198.18.0.2', undefined], 'the old address nobody holds is recycled, the held one not');
  p.release('198.18.0.1');
  now += 10 * GRACE_MS;
  recent();
  assert.equal(p.addressFor('x'), undefined, 'one flow still holds it');
  p.release('198.18.0.1');
  p.release('198.18.0.1'); // one release too many changes nothing
  now += GRACE_MS - 1;
  recent();
  assert.equal(p.addressFor('x'), undefined);
  now += 1;
  assert.deepEqual(p.addressFor('x'), { address: '198.18.0.1', created: true });
});

test('fake-IP: a question the pool has no address for is answered SERVFAIL, counted, and logged at most every 10 s', () => {
  let now = 0;
  const lines: { msg: string; qname: string; refused: number; suppressed: number }[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const fakeIp = new FakeIp({ pools: [new FakeIpPool(parseIpBlock('198.18.0.0/30'), { capacity: 10, reuseAfterMs: GRACE_MS, now: () => now })], ttlS: 1, exclude: [], log, now: () => now });
  const ask = (name: string) => fakeIp.answer({ name, type: 'A', class: 'IN' })!;
  assert.equal(ask('a.test').rcode, 'NOERROR');
  assert.equal(ask('b.test').rcode, 'NOERROR');
  assert.deepEqual(ask('c.test'), { rcode: 'SERVFAIL', answers: [], authorities: [], additionals: [] });
  assert.equal(ask('d.test').rcode, 'SERVFAIL');
  assert.equal(ask('a.test').rcode, 'NOERROR', 'names that have an address still get it');
  assert.equal(fakeIp.refused, 2);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].qname, 'c.test');
  assert.match(lines[0].msg, /198\.18\.0\.0\/30 has no address for c\.test/);
  now += 10_000;
  ask('e.test');
  assert.equal(lines.length, 2);
  assert.equal(lines[1].suppressed, 1);
  assert.equal(lines[1].refused, 3);
});

test('fake-IP: a live TCP flow to a pool address holds it from its start to its end', () => {
  let now = 0;
  const p = new FakeIpPool(parseIpBlock('198.18.0.0/30'), { capacity: 10, reuseAfterMs: GRACE_MS, now: () => now });
  const fakeIp = new FakeIp({ pools: [p], ttlS: 1, exclude: [], log: pino({ level: 'silent' }) });
  const seen: string[] = [];
  const next: FlowObserver = { opened: ({ flow, rule }) => void seen.push(`opened ${flow.id} (${rule})`), closed: (flow) => seen.push(`closed ${flow.id}`) };
  const holds = new FakeIpFlowHolds(fakeIp, next);
  fakeIp.answer({ name: 'a.test', type: 'A', class: 'IN' });
  fakeIp.answer({ name: 'b.test', type: 'A', class: 'IN' });
  const flowTo = (host: string): Flow => newFlow({ network: 'tcp', src: { kind: 'ipv4', host: '192.0.2.2', port: 40000 }, dst: { kind: 'ipv4', host, port: 443 }, inbound: 'redirect' });
  const start = (flow: Flow) => {
    const target = fakeIp.mapDestination(flow.dst) as SocksAddr;
    holds.opened({ flow, outbound: 'proxy', target, rule: 'final → proxy', startedAt: now });
  };
  const long = flowTo('198.18.0.1');
  const real = flowTo('192.0.2.80');
  start(long);
  start(real);
  now += 10 * GRACE_MS;
  assert.equal(p.addressFor('c.test')?.address, '198.18.0.2', 'b is free to go, a is held');
  assert.equal(p.addressFor('d.test'), undefined);
  holds.closed(real, 'proxy', { outcome: 'closed', bytesUp: 0, bytesDown: 0 });
  holds.closed(long, 'proxy', { outcome: 'closed', bytesUp: 0, bytesDown: 0 });
  holds.closed(long, 'proxy', { outcome: 'closed', bytesUp: 0, bytesDown: 0 }); // told twice: released once
  assert.deepEqual(seen, [`opened ${long.id} (final → proxy)`, `opened ${real.id} (final → proxy)`, `closed ${real.id}`, `closed ${long.id}`, `closed ${long.id}`]);
  now += GRACE_MS - 1;
  assert.equal(p.addressFor('d.test'), undefined);
  p.nameOf('198.18.0.2'); // c is in use
  now += 1;
  assert.equal(p.addressFor('d.test')?.address, '198.18.0.1');
});
