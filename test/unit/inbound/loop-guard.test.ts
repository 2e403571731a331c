import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { LoopGuard } from '../../../src/inbound/loop-guard.js';

test('refuses the listener itself, on loopback and on a wildcard listener', () => {
  const guard = new LoopGuard([addrOf('127.0.0.1', 12345), addrOf('::', 12347)], [addrOf('192.0.2.1', 1080)]);
  assert.match(guard.check(addrOf('127.0.0.1', 12345)) ?? '', /own listener/);
  assert.match(guard.check(addrOf('127.0.0.2', 12345)) ?? '', /own listener/);
  assert.match(guard.check(addrOf('::1', 12347)) ?? '', /own listener/);
  assert.equal(guard.check(addrOf('198.51.100.2', 12345)), undefined);
  assert.equal(guard.check(addrOf('127.0.0.1', 80)), undefined);
});

test('refuses the upstream proxy as a destination (its own traffic was intercepted)', () => {
  const guard = new LoopGuard([addrOf('127.0.0.1', 12345)], [addrOf('192.0.2.1', 1080)]);
  assert.match(guard.check(addrOf('192.0.2.1', 1080)) ?? '', /upstream proxy itself/);
  assert.equal(guard.check(addrOf('192.0.2.1', 80)), undefined);
});

test('addresses are compared parsed: any IPv6 spelling, IPv4-mapped IPv6', () => {
  const guard = new LoopGuard([addrOf('2001:DB8::1', 12345), addrOf('0:0:0:0:0:0:0:1', 12346)], [addrOf('2001:db8:0:0::53', 1080), addrOf('::ffff:c000:201', 1081)]);
  assert.match(guard.check(addrOf('2001:db8::1', 12345)) ?? '', /own listener/);
  assert.match(guard.check(addrOf('::1', 12346)) ?? '', /own listener/);
  assert.match(guard.check({ kind: 'ipv6', host: '::ffff:127.0.0.1', port: 12346 }) ?? '', /own listener/);
  assert.match(guard.check(addrOf('2001:0db8::0053', 1080)) ?? '', /upstream proxy itself/);
  assert.match(guard.check(addrOf('192.0.2.1', 1081)) ?? '', /upstream proxy itself/);
  assert.match(guard.check({ kind: 'ipv6', host: '::FFFF:192.0.2.1', port: 1081 }) ?? '', /upstream proxy itself/);
  assert.equal(guard.check(addrOf('2001:db8::2', 12345)), undefined);
  assert.equal(guard.check(addrOf('192.0.2.1', 1080)), undefined);
});

test('an upstream given by name is guarded by the addresses it resolves to, looked up again once stale', async () => {
  let answer = ['192.0.2.7', '2001:DB8::7'];
  const lookups: string[] = [];
  let now = 0;
  const resolveAll = async (host: string) => {
    lookups.push(host);
    return answer;
  };
  const guard = new LoopGuard([addrOf('127.0.0.1', 12345)], [addrOf('proxy.lab', 1080)], resolveAll, () => now);
  await guard.resolveNames();
  assert.deepEqual(lookups, ['proxy.lab']);
  assert.match(guard.check(addrOf('192.0.2.7', 1080)) ?? '', /upstream proxy itself/);
  assert.match(guard.check(addrOf('2001:db8::7', 1080)) ?? '', /upstream proxy itself/);
  assert.equal(guard.check(addrOf('192.0.2.7', 80)), undefined);
  assert.equal(guard.check(addrOf('192.0.2.8', 1080)), undefined);
  assert.equal(lookups.length, 1, 'a fresh answer is not looked up again');

  answer = ['192.0.2.8'];
  now = 61_000;
  guard.check(addrOf('192.0.2.8', 1080)); // stale: looked up again in the background
  await guard.resolveNames();
  assert.match(guard.check(addrOf('192.0.2.8', 1080)) ?? '', /upstream proxy itself/);
  assert.equal(guard.check(addrOf('192.0.2.7', 1080)), undefined);

  guard.replace([addrOf('127.0.0.1', 12345)], [addrOf('other.lab', 1080)]);
  await guard.resolveNames();
  assert.ok(lookups.includes('other.lab'), 'a reload looks the new names up');
});

test('a name that does not resolve leaves the guard as it was', async () => {
  const guard = new LoopGuard([], [addrOf('nowhere.lab', 1080)], async () => {
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  });
  await guard.resolveNames();
  assert.equal(guard.check(addrOf('192.0.2.7', 1080)), undefined);
});
