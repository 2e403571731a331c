import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicyOrder, type PolicyMember } from '../../../src/outbound/group-policy.js';

const settled = (latency?: number): PolicyMember => ({ upFor: () => true, latency });
const justBack: PolicyMember = { upFor: () => false, latency: undefined };

test('failover: config order over the usable members; one just back goes last until it has been up long enough', () => {
  const order = new PolicyOrder('failover', 2_000);
  assert.deepEqual(order.order([settled(), settled(), settled()], [0, 1, 2]), [0, 1, 2]);
  assert.deepEqual(order.order([settled(), settled(), settled()], [1, 2]), [1, 2]);
  assert.deepEqual(order.order([justBack, settled(), settled()], [0, 1, 2]), [1, 2, 0]);
  assert.deepEqual(order.order([justBack, settled()], [0]), [0], 'the only one left is used all the same');
});

test('round-robin: each flow starts one member further, over the usable ones only', () => {
  const order = new PolicyOrder('round-robin', 0);
  const members = [settled(), settled(), settled()];
  const firsts = Array.from({ length: 6 }, () => order.order(members, [0, 1, 2])[0]);
  assert.deepEqual(firsts, [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(order.order(members, [0, 2]), [0, 2]);
  assert.deepEqual(order.order(members, [0, 2]), [2, 0]);
  assert.deepEqual(order.order(members, []), []);
});

test('least-latency: lowest average first, a member never measured before any', () => {
  const order = new PolicyOrder('least-latency', 0);
  assert.deepEqual(order.order([settled(30), settled(10), settled(20)], [0, 1, 2]), [1, 2, 0]);
  assert.deepEqual(order.order([settled(30), settled(), settled(20)], [0, 1, 2]), [1, 2, 0]);
  assert.deepEqual(order.order([settled(5), settled(5)], [1, 0]), [0, 1], 'ties in config order');
});
