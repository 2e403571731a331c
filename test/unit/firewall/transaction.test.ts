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

test('apply: our policy routing (tagged protocol 83) replaced first (delete every copy, then add), then one nft transaction', () => {
  const steps = applySteps(planOf({ tproxy: ['[::]:12347'] }), 'nft', NOTHING);
  assert.deepEqual(steps.map(line), [
    'ip -4 rule del fwmark 0x1/0x1 lookup 100 protocol 83',
    'ip -4 route del local 0.0.0.0/0 dev lo table 100 proto 83 metric 83',
    'ip -6 rule del fwmark 0x1/0x1 lookup 100 protocol 83',
    'ip -6 route del local ::/0 dev lo table 100 proto 83 metric 83',
    'ip -4 rule add fwmark 0x1/0x1 lookup 100 protocol 83',
    'ip -4 route add local 0.0.0.0/0 dev lo table 100 proto 83 metric 83',
    'ip -6 rule add fwmark 0x1/0x1 lookup 100 protocol 83',
    'ip -6 route add local ::/0 dev lo table 100 proto 83 metric 83',
    'nft -f -',
  ]);
  assert.ok(steps[0].untilFails && steps[1].mayFail);
});

/** Routes as `ip -N -d -j route show table 100` lists them. */
const route = (fields: Record<string, unknown>) => ({ type: '2', dst: 'default', dev: 'lo', scope: '254', flags: [], ...fields });
const tables = (ipv4: unknown[], ipv6: unknown[] = []) => ({ ipv4: JSON.stringify(ipv4), ipv6: JSON.stringify(ipv6) });

test('apply shares the route table with our own route and with an identical one of someone else', () => {
  const plan = planOf({ tproxy: ['[::]:12347'] });
  const theirs = tables([route({})], [route({ protocol: '3', metric: 1024 })]);
  assert.ok(applySteps(plan, 'nft', { ...NOTHING, routes: theirs }).some((s) => line(s) === 'ip -4 route add local 0.0.0.0/0 dev lo table 100 proto 83 metric 83'));
  applySteps(plan, 'nft', { ...NOTHING, routes: tables([route({ protocol: '83', metric: 83 })], [route({ protocol: '83', metric: 83 }), route({ metric: 1024 })]) });
  applySteps(plan, 'nft', { ...NOTHING, routes: { ipv4: '[]', ipv6: undefined } });
});

test('apply refuses a route table holding other routes of someone else, and replaces none of them', () => {
  const plan = planOf({ tproxy: ['[::]:12347'] });
  const refused = (ipv4: unknown[], ipv6: unknown[] = []) => () => applySteps(plan, 'nft', { ...NOTHING, routes: tables(ipv4, ipv6) });
  const message = /route table 100 \(ipv4\) holds routes socksgate did not add \(192\.0\.2\.0\/24 via 192\.0\.2\.1 dev eth0 proto 3\); socksgate will not replace them: set rules\.route_table to a table nothing else uses$/;
  assert.throws(refused([route({ type: '1', dst: '192.0.2.0/24', gateway: '192.0.2.1', dev: 'eth0', protocol: '3' })]), message);
  // the same local default route at our metric: ours could not be added next to it
  assert.throws(refused([route({ protocol: '3', metric: 83 })]), /local default dev lo proto 3 metric 83/);
  assert.throws(refused([], [route({ type: '1', gateway: '2001:db8::1', dev: 'eth0', metric: 1024 })]), /route table 100 \(ipv6\)/);
  assert.throws(() => applySteps(plan, 'nft', { ...NOTHING, routes: { ipv4: 'Dump terminated', ipv6: '[]' } }), /cannot read route table 100 \(ipv4\)/);
  // a plan without policy routing does not care
  applySteps(planOf({}), 'nft', { ...NOTHING, routes: tables([route({ type: '1', dst: '192.0.2.0/24' })]) });
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
