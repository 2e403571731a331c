import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { addrOf } from '../../../src/core/addr.js';
import { execIdsIn, execPlan } from '../../../src/cli/exec/exec-rules.js';
import { renderIptables } from '../../../src/firewall/render-iptables.js';
import { renderNft } from '../../../src/firewall/render-nft.js';

const cgroup = { path: 'socksgate/exec-42', nftPath: 'unified/socksgate/exec-42' };
const { rules } = validateConfig({ upstreams: ['socks5://192.0.2.1:1080'] });
const target = { redirect: [addrOf('127.0.0.1', 12345)], tproxy: [], dns: addrOf('127.0.0.1', 5353), mark: 0, upstreams: [addrOf('192.0.2.1', 1080)], source: 'a test' };

test('exec plan: REDIRECT and DNS capture only, its own names, no mark needed', () => {
  const plan = execPlan(rules, target, cgroup, 42);
  assert.equal(plan.nftTable, 'socksgate_exec_42');
  assert.equal(plan.chain, 'SGX16');
  assert.deepEqual(plan.cgroup, cgroup);
  assert.deepEqual(plan.families.map((f) => [f.family, f.tcp, f.udp, f.dnsPort]), [['ipv4', { kind: 'redirect', port: 12345 }, undefined, 5353]]);
});

test('nft: the base chain jumps into the rules only for sockets of the cgroup', () => {
  const text = renderNft(execPlan(rules, target, cgroup, 42));
  assert.match(text, /type nat hook output priority -100; policy accept;\n {4}socket cgroupv2 level 2 "unified\/socksgate\/exec-42" jump nat_output_cgroup\n {2}\}/);
  assert.match(text, /chain nat_output_cgroup \{\n(?: {4}.*\n)* {4}meta nfproto ipv4 meta l4proto tcp redirect to :12345\n/);
});

test('iptables: the OUTPUT jump carries the cgroup match', () => {
  const text = renderIptables(execPlan(rules, target, cgroup, 42), 'ipv4', '');
  assert.match(text, /^-A OUTPUT -m cgroup --path socksgate\/exec-42 -j SGX16_NAT$/m);
  assert.doesNotMatch(text, /^-A OUTPUT -j/m);
});

test('finds the exec rule sets of every backend by their names', () => {
  const tables = 'table inet socksgate\ntable inet socksgate_exec_42\ntable ip nat\n';
  const saved = '*nat\n:OUTPUT ACCEPT [0:0]\n:SGX16_NAT - [0:0]\n:SGX2HWCG_NAT - [0:0]\n:SOCKSGATE_NAT - [0:0]\n:SGXFOO_OTHER - [0:0]\n:SGX1_NAT2 - [0:0]\nCOMMIT\n';
  assert.deepEqual([...execIdsIn(tables, saved)].sort((a, b) => a - b), [42, 4194304]);
  assert.deepEqual([...execIdsIn('table inet socksgate_exec_7x\n', '*nat\n:SGXFOO_OTHER - [0:0]\n:SGX1_NAT2 - [0:0]\nCOMMIT\n')], []);
});
