import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStep } from '../../../src/firewall/step.js';
import { applySteps, flushSteps, resolveBackend, type Observed } from '../../../src/firewall/transaction.js';
import { planOf } from './fixtures.js';

const NOTHING: Observed = { nft: true, nftTable: false, iptablesNft: true, saved: { ipv4: '', ipv6: '' } };
const line = (s: { cmd: string; args: readonly string[] }) => [s.cmd, ...s.args].join(' ');

test('auto picks nft when the tool runs, else iptables', () => {
  assert.equal(resolveBackend('auto', { nft: true }), 'nft');
  assert.equal(resolveBackend('auto', { nft: false }), 'iptables');
  assert.equal(resolveBackend('iptables', { nft: true }), 'iptables');
});

test('apply: policy routing replaced first (delete every copy, then add), then one nft transaction', () => {
  const steps = applySteps(planOf({ tproxy: ['[::]:12347'] }), 'nft', NOTHING);
  assert.deepEqual(steps.map(line), [
    'ip -4 rule del fwmark 0x1/0x1 lookup 100',
    'ip -4 route del local 0.0.0.0/0 dev lo table 100',
    'ip -6 rule del fwmark 0x1/0x1 lookup 100',
    'ip -6 route del local ::/0 dev lo table 100',
    'ip -4 rule add fwmark 0x1/0x1 lookup 100',
    'ip -4 route replace local 0.0.0.0/0 dev lo table 100',
    'ip -6 rule add fwmark 0x1/0x1 lookup 100',
    'ip -6 route replace local ::/0 dev lo table 100',
    'nft -f -',
  ]);
  assert.ok(steps[0].untilFails && steps[1].mayFail);
});

test('apply with one backend removes a stale set left by the other', () => {
  const stale = '*nat\n:OUTPUT ACCEPT [0:0]\n:SOCKSGATE_NAT - [0:0]\n-A OUTPUT -j SOCKSGATE_NAT\nCOMMIT\n';
  const nft = applySteps(planOf({}), 'nft', { ...NOTHING, saved: { ipv4: stale, ipv6: '' } }).map(line);
  assert.deepEqual(nft.slice(-2), ['iptables-restore --noflush', 'nft -f -']);
  const ipt = applySteps(planOf({}), 'iptables', { ...NOTHING, nftTable: true }).map(line);
  assert.deepEqual(ipt.slice(-2), ['nft -f -', 'iptables-restore --noflush']);
});

test('flush with nothing installed only runs deletes that may find nothing', () => {
  const steps = flushSteps({ nftTable: 'socksgate', chain: 'SOCKSGATE', fwmark: 1, routeTable: 100 }, NOTHING);
  assert.ok(steps.every((s) => s.cmd === 'ip' && (s.untilFails || s.mayFail)));
});

test('print format: a heredoc for input, a note for repeated and optional steps', () => {
  assert.equal(formatStep({ cmd: 'nft', args: ['-f', '-'], input: 'x\n' }), "nft -f - <<'EOF'\nx\nEOF\n");
  assert.equal(formatStep({ cmd: 'ip', args: ['rule', 'del'], untilFails: true }), 'ip rule del   # repeated until none is left\n');
});
