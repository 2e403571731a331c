import assert from 'node:assert/strict';
import { test } from 'node:test';
import { swapNeedsFlush, swapSteps } from '../../../src/firewall/swap.js';
import { applySteps, type Observed } from '../../../src/firewall/transaction.js';
import { planOf } from './fixtures.js';

const INSTALLED: Observed = { nft: true, nftTable: true, iptablesNft: true, saved: { ipv4: '', ipv6: '' } };
const cmds = (steps: readonly { cmd: string; args: readonly string[] }[]) => steps.map((s) => [s.cmd, ...s.args].join(' '));

test('reload swap: a new bypass is one nft transaction, the policy routing stays as it is', () => {
  const current = planOf({ tproxy: ['[::]:12347'] });
  const next = planOf({ tproxy: ['[::]:12347'], rules: { bypass: ['203.0.113.0/24'] } });
  assert.equal(swapNeedsFlush(current, next), false);
  assert.deepEqual(cmds(swapSteps(current, next, applySteps(next, 'nft', INSTALLED))), ['nft -f -']);
});

test('reload swap: a new route table replaces the routing too, after flushing the old names', () => {
  const current = planOf({ tproxy: ['[::]:12347'] });
  const next = planOf({ tproxy: ['[::]:12347'], rules: { route_table: 101 } });
  assert.equal(swapNeedsFlush(current, next), true);
  const steps = cmds(swapSteps(current, next, applySteps(next, 'nft', INSTALLED)));
  assert.ok(steps.includes('ip -4 rule add fwmark 0x1/0x1 lookup 101 protocol 83'), steps.join('\n'));
  assert.equal(steps.at(-1), 'nft -f -');
});

test('reload swap: moving from REDIRECT to TPROXY adds the policy routing', () => {
  const current = planOf({ redirect: ['127.0.0.1:12345'] });
  const next = planOf({ tproxy: ['[::]:12347'] });
  assert.equal(swapNeedsFlush(current, next), false);
  assert.ok(cmds(swapSteps(current, next, applySteps(next, 'nft', INSTALLED))).includes('ip -6 route add local ::/0 dev lo table 100 proto 83 metric 83'));
});
