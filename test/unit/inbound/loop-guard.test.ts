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
