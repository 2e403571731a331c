import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RecordAnswer } from 'dns-packet';
import { pino } from 'pino';
import { FakeIp } from '../../../src/dns/fake-ip.js';
import { FakeIpPool } from '../../../src/dns/fake-ip-pool.js';
import { FakeIpStore } from '../../../src/dns/fake-ip-store.js';
import { addressAt, offsetOf, parseIpBlock } from '../../../src/codec/ip-block.js';
import { addressOfReverseName } from '../../../src/dns/reverse-name.js';

const log = pino({ level: 'silent' });
/** A pool that recycles as soon as the capacity is reached (no grace period). */
const pool = (cidr: string, capacity: number) => new FakeIpPool(parseIpBlock(cidr), { capacity, reuseAfterMs: 0 });

test('address blocks count through their addresses, both families', () => {
  const v4 = parseIpBlock('198.18.7.9/15');
  assert.equal(v4.text, '198.18.0.0/15');
  assert.equal(v4.size, 131_072n);
  assert.equal(addressAt(v4, 65_537n), '198.19.0.1');
  assert.equal(offsetOf(v4, '198.19.0.1'), 65_537n);
  assert.equal(offsetOf(v4, '198.20.0.0'), undefined);
  const v6 = parseIpBlock('fc00::/18');
  assert.equal(addressAt(v6, 1n), 'fc00::1');
  assert.equal(offsetOf(v6, 'fc00:3fff::1') !== undefined, true);
  assert.equal(offsetOf(v6, 'fc00:4000::'), undefined);
  assert.throws(() => parseIpBlock('198.18.0.0/33'), RangeError);
  assert.throws(() => parseIpBlock('nope/8'), RangeError);
});

test('reverse names: in-addr.arpa and ip6.arpa, nothing else', () => {
  assert.equal(addressOfReverseName('1.0.18.198.in-addr.arpa'), '198.18.0.1');
  assert.equal(addressOfReverseName('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.IP6.ARPA.'), 'fc00::1');
  assert.equal(addressOfReverseName('0.18.198.in-addr.arpa'), undefined);
  assert.equal(addressOfReverseName('256.0.18.198.in-addr.arpa'), undefined);
  assert.equal(addressOfReverseName('web.lab.test'), undefined);
});

test('a pool hands each name one address, and past capacity recycles the least recently used', () => {
  const pool = new FakeIpPool(parseIpBlock('198.18.0.0/29'), { capacity: 100, reuseAfterMs: 0 });
  assert.equal(pool.capacity, 6, 'network and broadcast addresses are never handed out');
  const addrs = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => pool.addressFor(n)?.address);
  assert.deepEqual(addrs, ['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.0.5', '198.18.0.6']);
  assert.deepEqual(pool.addressFor('a'), { address: '198.18.0.1', created: false });
  assert.equal(pool.nameOf('198.18.0.2'), 'b'); // b is now more recent than c
  assert.deepEqual(pool.addressFor('g'), { address: '198.18.0.3', created: true }, 'c was least recently used');
  assert.equal(pool.nameOf('198.18.0.3'), 'g');
  assert.equal(pool.size, 6);
});

test('fake-IP answers A/AAAA from the pools, PTR for pool addresses, and leaves the rest to the resolver', () => {
  let changes = 0;
  const fake = new FakeIp({
    pools: [pool('198.18.0.0/15', 10), pool('fc00::/18', 10)],
    ttlS: 1,
    exclude: ['lan', 'Local.Example.'],
    onChange: () => changes++,
    log,
  });
  const a = fake.answer({ name: 'Web.Lab.Test', type: 'A', class: 'IN' })!;
  assert.deepEqual(a.answers, [{ type: 'A', name: 'Web.Lab.Test', class: 'IN', ttl: 1, data: '198.18.0.1' }]);
  assert.equal((fake.answer({ name: 'web.lab.test', type: 'AAAA', class: 'IN' })!.answers[0] as RecordAnswer).data, 'fc00::1');
  assert.equal(changes, 2);
  fake.answer({ name: 'web.lab.test.', type: 'A', class: 'IN' });
  assert.equal(changes, 2, 'an existing mapping is no change');

  assert.equal(fake.answer({ name: 'printer.lan', type: 'A', class: 'IN' }), undefined, 'excluded suffix');
  assert.equal(fake.answer({ name: 'x.local.example', type: 'A', class: 'IN' }), undefined);
  assert.notEqual(fake.answer({ name: 'notlan', type: 'A', class: 'IN' }), undefined, 'suffixes match whole labels');
  assert.equal(fake.answer({ name: 'web.lab.test', type: 'MX', class: 'IN' }), undefined, 'other types are forwarded');

  assert.equal((fake.answer({ name: '1.0.18.198.in-addr.arpa', type: 'PTR', class: 'IN' })!.answers[0] as RecordAnswer).data, 'web.lab.test');
  assert.equal(fake.answer({ name: '9.0.18.198.in-addr.arpa', type: 'PTR', class: 'IN' })!.rcode, 'NXDOMAIN');
  assert.equal(fake.answer({ name: '1.2.0.192.in-addr.arpa', type: 'PTR', class: 'IN' }), undefined, 'real addresses are forwarded');

  assert.deepEqual(fake.mapDestination({ kind: 'ipv4', host: '198.18.0.1', port: 443 }), { kind: 'domain', host: 'web.lab.test', port: 443 });
  assert.deepEqual(fake.mapDestination({ kind: 'ipv6', host: 'fc00::1', port: 80 }), { kind: 'domain', host: 'web.lab.test', port: 80 });
  assert.equal(fake.mapDestination({ kind: 'ipv4', host: '198.19.1.1', port: 80 }), undefined, 'pool address without a name');
  const real = { kind: 'ipv4', host: '192.0.2.1', port: 80 } as const;
  assert.equal(fake.mapDestination(real), real);
});

test('no pool for a family: NODATA, so the application falls back to the other family', () => {
  const fake = new FakeIp({ pools: [pool('198.18.0.0/15', 10)], ttlS: 1, exclude: [], log });
  assert.deepEqual(fake.answer({ name: 'a.test', type: 'AAAA', class: 'IN' }), { rcode: 'NOERROR', answers: [], authorities: [], additionals: [] });
});

test('the store saves atomically and a new pool restores names, addresses, recency and how long each was unused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-fakeip-'));
  const file = join(dir, 'sub', 'state.json');
  const block = parseIpBlock('198.18.0.0/29');
  let monotonic = 0;
  let wall = 1_700_000_000_000;
  const options = { capacity: 3, reuseAfterMs: 100_000, now: () => monotonic };
  const before = new FakeIpPool(block, options);
  for (const name of ['a', 'b', 'c']) {
    before.addressFor(name);
    monotonic += 1000;
  }
  before.nameOf('198.18.0.1'); // a becomes the most recent, used at 3000
  monotonic = 5000;
  await new FakeIpStore(file, [before], { log, now: () => wall }).save();
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['state.json'], 'no temp file left behind');
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(saved.version, 2);
  assert.deepEqual(saved.pools['198.18.0.0/29'], [['b', '198.18.0.2', wall - 4000], ['c', '198.18.0.3', wall - 3000], ['a', '198.18.0.1', wall - 2000]]);

  // A minute later, in a new process whose monotonic clock starts again.
  monotonic = 0;
  wall += 60_000;
  const after = new FakeIpPool(block, options);
  assert.equal(new FakeIpStore(file, [after], { log, now: () => wall }).load(), 3);
  assert.deepEqual(after.entries(), [['b', '198.18.0.2', 64_000], ['c', '198.18.0.3', 63_000], ['a', '198.18.0.1', 62_000]]);
  assert.equal(after.addressFor('d'), undefined, 'the grace period runs on across the restart');
  monotonic = 36_000;
  assert.deepEqual(after.addressFor('d'), { address: '198.18.0.2', created: true }, 'b was least recently used before the restart');
  assert.equal(new FakeIpStore(join(dir, 'missing.json'), [new FakeIpPool(block, options)], { log }).load(), 0, 'no file: first start');
});

test('the store reads version 1 files (no times): their mappings count as used at the start', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-fakeip-')), 'state.json');
  writeFileSync(file, JSON.stringify({ version: 1, pools: { '198.18.0.0/29': [['a', '198.18.0.1'], ['b', '198.18.0.2']] } }));
  let now = 0;
  const pool = new FakeIpPool(parseIpBlock('198.18.0.0/29'), { capacity: 2, reuseAfterMs: 1000, now: () => now });
  assert.equal(new FakeIpStore(file, [pool], { log }).load(), 2);
  assert.deepEqual(pool.entries(), [['a', '198.18.0.1', 0], ['b', '198.18.0.2', 0]]);
  assert.equal(pool.addressFor('c'), undefined);
  now = 1000;
  assert.deepEqual(pool.addressFor('c'), { address: '198.18.0.1', created: true });
  writeFileSync(file, JSON.stringify({ version: 3, pools: {} }));
  assert.throws(() => new FakeIpStore(file, [pool], { log }).load(), /unknown format/);
});

test('a save that fails in the background is logged, once per distinct error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-fakeip-'));
  writeFileSync(join(dir, 'not-a-dir'), '');
  const file = join(dir, 'not-a-dir', 'state.json'); // like a read-only /var/lib: every save fails
  const lines: { msg: string; stateFile: string }[] = [];
  const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const store = new FakeIpStore(file, [pool('198.18.0.0/29', 3)], { log: capture, delayMs: 0 });
  for (let i = 0; i < 3; i++) {
    store.changed();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(lines.length, 1, lines.map((l) => l.msg).join('\n'));
  assert.equal(lines[0].stateFile, file);
  assert.match(lines[0].msg, /^cannot save the fake-IP state .*: (ENOTDIR|EEXIST)/);
});
