// PortSet (src/route/match/port-set.ts): the ports and port ranges of `port:` rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortSet } from '../../../src/route/match/port-set.js';

test('single ports and inclusive ranges, given as numbers or text', () => {
  const set = new PortSet();
  set.add(25);
  set.add('6881-6889');
  set.add('443');
  for (const hit of [25, 443, 6881, 6885, 6889]) assert.ok(set.has(hit), String(hit));
  for (const miss of [0, 24, 26, 442, 6880, 6890, 65535]) assert.ok(!set.has(miss), String(miss));
  assert.equal(set.size, 3);
});

test('the ends of the port space: 0, 65535 and the whole range', () => {
  const set = new PortSet();
  set.add(0);
  set.add(65535);
  assert.ok(set.has(0) && set.has(65535) && !set.has(1) && !set.has(65534));
  const all = new PortSet();
  all.add('0-65535');
  assert.ok(all.has(0) && all.has(32768) && all.has(65535));
});

test('anything else is a RangeError naming the entry', () => {
  for (const bad of ['70-60', '65536', '0-65536', '-1', '1-2-3', 'http', '', ' 80', 1.5, -1, 70000]) {
    assert.throws(() => new PortSet().add(bad), (err: Error) => err instanceof RangeError && err.message.includes(`"${String(bad)}"`), String(bad));
  }
});
