import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { directSets, selectKernelDirect } from '../../../src/firewall/kernel-direct.js';
import { renderIpsetLoad, staleIpsets } from '../../../src/firewall/render-ipset.js';
import { renderIptables } from '../../../src/firewall/render-iptables.js';
import { renderNft } from '../../../src/firewall/render-nft.js';
import { formatStep } from '../../../src/firewall/step.js';
import { applySteps, flushSteps, type Observed } from '../../../src/firewall/transaction.js';
import { assertGolden, MODES, planIssues, planOf } from './fixtures.js';

type Rules = Parameters<typeof selectKernelDirect>[0];
const noFiles = (file: string): string[] => assert.fail(`read ${file}`);
const selected = (rules: unknown[], read = noFiles) => selectKernelDirect(rules as Rules, read).map((r) => r.index);

test('direct cidr rules with nothing before them, or only direct rules, go into the kernel', () => {
  assert.deepEqual(selected([{ cidr: ['192.0.2.0/24'], action: 'direct' }, { domain: ['a.example'], action: 'direct' }, { cidr: ['2001:db8::/32'], action: 'direct' }]), [0, 2]);
});

test('an earlier cidr-only rule with another action shadows only the networks it overlaps', () => {
  const rules = [
    { cidr: ['192.0.2.128/25'], action: 'reject' },
    { cidr: ['192.0.2.0/24'], action: 'direct' }, // contains the reject network
    { cidr: ['192.0.2.200/32'], action: 'direct' }, // inside it
    { cidr: ['198.51.100.0/24'], action: 'direct' }, // disjoint
    { cidr: ['203.0.113.0/24'], upstream: 'dante' },
    { cidr: ['203.0.113.7'], action: 'direct' },
  ];
  assert.deepEqual(selected(rules), [3]);
});

test('an earlier rule with any other matcher and another action stops the kernel list', () => {
  for (const matcher of [{ domain_suffix: ['x.example'] }, { port: [25] }, { network: 'udp' }, { source: ['198.51.100.0/26'] }, { inbound: 'tproxy' }, { cidr: ['203.0.113.0/24'], port: [443] }]) {
    assert.deepEqual(selected([{ cidr: ['192.0.2.0/24'], action: 'direct' }, { ...matcher, action: 'reject' }, { cidr: ['198.51.100.0/24'], action: 'direct' }]), [0], JSON.stringify(matcher));
  }
});

test('a direct rule with more than cidr matchers is not a kernel rule, but does not shadow later ones', () => {
  assert.deepEqual(selected([{ cidr: ['192.0.2.0/24'], port: [80], action: 'direct' }, { cidr: ['198.51.100.0/24'], action: 'direct' }]), [1]);
});

test('cidr_file networks count for selection and shadowing; sets split by family, repeats dropped, merged into ranges for nft', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-kd-'));
  const file = path.join(dir, 'nets.txt');
  writeFileSync(file, '# direct\n192.0.2.77/24\n192.0.2.0/24\n2001:db8:1::5/48 # lab\n');
  const read = (name: string) => (name === file ? ['192.0.2.77/24', '192.0.2.0/24', '2001:db8:1::5/48'] : assert.fail(name));
  const chosen = selectKernelDirect([{ cidr_file: file, action: 'direct' }, { cidr: ['10.0.0.0/8'], action: 'direct' }] as Rules, read);
  const sets = directSets(chosen);
  assert.deepEqual(sets.ipv4, { elements: ['192.0.2.77/24', '192.0.2.0/24', '10.0.0.0/8'], intervals: ['10.0.0.0-10.255.255.255', '192.0.2.0-192.0.2.255'], sources: [file, 'cidr of rule #2'] });
  assert.deepEqual(sets.ipv6, { elements: ['2001:db8:1::5/48'], intervals: ['2001:db8:1:0:0:0:0:0-2001:db8:1:ffff:ffff:ffff:ffff:ffff'], sources: [file] });
  assert.deepEqual(selected([{ cidr_file: file, upstream: 'dante' }, { cidr: ['2001:db8:1:2::/64'], action: 'direct' }], read), []);
});

const DIRECT_RULES = { route: { rules: [{ cidr: ['192.0.2.0/24', '2001:db8:3::/64'], action: 'direct' }, { domain: ['ads.example'], action: 'reject' }, { cidr: ['198.51.100.0/24'], action: 'direct' }] } };

for (const [mode, raw] of Object.entries(MODES)) {
  test(`${mode} mode with kernel direct lists: golden nft and iptables (the set matched before every divert)`, () => {
    const plan = planOf({ ...raw, ...DIRECT_RULES });
    const ipsets = plan.families.map((f) => `# ipset restore -exist\n${renderIpsetLoad(plan.chain, f, [])}`).join('');
    assertGolden(`${mode}-direct.nft`, renderNft(plan));
    assertGolden(`${mode}-direct.iptables`, `${ipsets}# iptables-restore --noflush\n${renderIptables(plan, 'ipv4', '')}# ip6tables-restore --noflush\n${renderIptables(plan, 'ipv6', '')}`);
  });
}

const OBSERVED: Observed = { nft: true, nftTable: false, iptablesNft: true, saved: { ipv4: '', ipv6: '' }, ipsets: ['SOCKSGATE_DIRECT4', 'OTHER_DIRECT4', 'SOCKSGATE_DIRECT4X'] };

test('print summarises the elements; apply and flush destroy exactly our ipsets, after the rules', () => {
  const plan = planOf({ ...MODES.host, ...DIRECT_RULES });
  const nft = applySteps(plan, 'nft', OBSERVED);
  const shown = nft.map(formatStep).join('');
  assert.match(shown, /# set direct4: 1 networks \(1 ranges\) from cidr of rule #1\n# set direct6: 1 networks \(1 ranges\) from cidr of rule #1\n/);
  assert.doesNotMatch(shown, /add element/);
  assert.match(nft.at(-1)!.input!, /add element inet socksgate direct4 \{ 192\.0\.2\.0-192\.0\.2\.255 \}/);
  assert.deepEqual(nft.filter((s) => s.cmd === 'ipset').map((s) => s.args), [['destroy', 'SOCKSGATE_DIRECT4']]);
  const ipt = applySteps(plan, 'iptables', OBSERVED).map((s) => s.cmd);
  assert.deepEqual(ipt.filter((cmd) => cmd !== 'ip'), ['ipset', 'ipset', 'iptables-restore', 'ip6tables-restore']);
  const flush = flushSteps(plan, { ...OBSERVED, saved: { ipv4: '*nat\n:SOCKSGATE_NAT - [0:0]\nCOMMIT\n', ipv6: undefined } });
  assert.deepEqual(flush.map((s) => s.cmd).slice(0, 2), ['iptables-restore', 'ipset']);
  assert.deepEqual(staleIpsets('SOCKSGATE', ['SOCKSGATE_DIRECT6_NEW', 'SOCKSGATE_X'], []), ['SOCKSGATE_DIRECT6_NEW']);
});

test('a bad cidr_file is a config error naming the rule and file:line', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'sg-kd-')), 'bad.txt');
  writeFileSync(file, '192.0.2.0/24\nnot-a-net\n');
  assert.deepEqual(planIssues({ ...MODES.host, route: { rules: [{ cidr: ['198.51.100.0/24'], action: 'direct' }, { cidr_file: file, action: 'direct' }] } }), [`route.rules.1.cidr_file: ${file}:2: "not-a-net": expected an IPv4 or IPv6 address, optionally /prefix`]);
});
