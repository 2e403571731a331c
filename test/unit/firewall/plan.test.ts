import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usesPolicyRouting } from '../../../src/firewall/plan.js';
import { planIssues, planOf } from './fixtures.js';

test('host mode with a dual-stack TPROXY listener: TCP and UDP, both families, to loopback', () => {
  const plan = planOf({ tproxy: ['[::]:12347'] });
  assert.equal(plan.mode, 'host');
  assert.deepEqual(
    plan.families.map((f) => [f.family, f.tcp, f.udp]),
    [
      ['ipv4', { kind: 'tproxy', to: { ip: '127.0.0.1', port: 12347 } }, { ip: '127.0.0.1', port: 12347 }],
      ['ipv6', { kind: 'tproxy', to: { ip: '::1', port: 12347 } }, { ip: '::1', port: 12347 }],
    ],
  );
  assert.ok(plan.families.every(usesPolicyRouting));
  assert.equal(plan.fwmark, 1);
  assert.equal(plan.routeTable, 100);
});

test('host mode with the default REDIRECT listener: IPv4 TCP only, no policy routing', () => {
  const plan = planOf({});
  assert.deepEqual(plan.families.map((f) => [f.family, f.tcp, f.udp]), [['ipv4', { kind: 'redirect', port: 12345 }, undefined]]);
  assert.ok(!plan.families.some(usesPolicyRouting));
});

test('a REDIRECT listener that loopback cannot reach is not used', () => {
  assert.deepEqual(planIssues({ redirect: ['192.0.2.9:12345'] }), ['redirect: nothing to divert to: host mode needs a redirect listener on loopback or a tproxy listener']);
});

test('udp: false keeps UDP out; a TPROXY listener on one address serves only its family', () => {
  const plan = planOf({ tproxy: ['127.0.0.1:12347'], rules: { udp: false } });
  assert.deepEqual(plan.families.map((f) => [f.family, f.tcp?.kind, f.udp]), [['ipv4', 'tproxy', undefined]]);
});

test('bypass: always-local ranges, private ranges, the upstream servers and the user list', () => {
  const plan = planOf({ upstreams: ['socks5://192.0.2.1:1080', 'socks5://[2001:db8:1::1]:1080', 'socks5://proxy.example:1080'], tproxy: ['[::]:1'], rules: { bypass: ['198.51.100.0/24', '2001:db8:9::/48', '203.0.113.7'] } });
  const [v4, v6] = plan.families;
  for (const cidr of ['127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32', '10.0.0.0/8', '192.168.0.0/16', '192.0.2.1/32', '198.51.100.0/24', '203.0.113.7/32']) {
    assert.ok(v4.bypass.includes(cidr), cidr);
  }
  for (const cidr of ['::1/128', 'fe80::/10', 'ff00::/8', 'fc00::/7', '2001:db8:1::1/128', '2001:db8:9::/48']) assert.ok(v6.bypass.includes(cidr), cidr);
  assert.ok(!v4.bypass.some((c) => c.includes(':')) && !v6.bypass.some((c) => c.includes('.')));
});

test('bypass_reserved: false diverts private ranges but never loopback, link-local or multicast', () => {
  const [v4] = planOf({ rules: { bypass_reserved: false } }).families;
  assert.ok(!v4.bypass.includes('10.0.0.0/8') && !v4.bypass.includes('192.168.0.0/16'));
  assert.ok(v4.bypass.includes('127.0.0.0/8') && v4.bypass.includes('224.0.0.0/4') && v4.bypass.includes('169.254.0.0/16'));
});

test('DNS capture follows the dns listener and can be turned off', () => {
  const dns = { listen: '127.0.0.1:5353', upstreams: ['tcp://198.51.100.2:53'] };
  assert.equal(planOf({ dns }).families[0].dnsPort, 5353);
  assert.equal(planOf({ dns, rules: { dns_capture: false } }).families[0].dnsPort, undefined);
  assert.equal(planOf({}).families[0].dnsPort, undefined);
});

test('sidecar mode: REDIRECT only, never TPROXY, UDP or policy routing', () => {
  const plan = planOf({ redirect: ['127.0.0.1:12345'], tproxy: ['[::]:12347'], rules: { mode: 'sidecar' } });
  assert.deepEqual(plan.families.map((f) => [f.family, f.tcp, f.udp]), [['ipv4', { kind: 'redirect', port: 12345 }, undefined]]);
  assert.deepEqual(planIssues({ tproxy: ['[::]:12347'], rules: { mode: 'sidecar', udp: true } }), [
    'rules.udp: sidecar mode changes no routing, so it cannot divert UDP (TPROXY needs policy routing): use host mode',
  ]);
});

test('router mode: TPROXY from the named LAN, DNS to a wildcard listener', () => {
  const plan = planOf({ tproxy: ['[::]:12347'], dns: { listen: '0.0.0.0:53', upstreams: ['tcp://198.51.100.2:53'] }, rules: { mode: 'router', lan_interfaces: ['lan0'], lan_sources: ['203.0.113.128/26'] } });
  assert.deepEqual(plan.lan, { interfaces: ['lan0'], sources: [{ family: 'ipv4', text: '203.0.113.128/26' }] });
  assert.deepEqual(plan.families.map((f) => [f.family, f.tcp?.kind, f.dnsPort]), [['ipv4', 'tproxy', 53], ['ipv6', 'tproxy', undefined]]);
});

test('router mode needs a LAN, a TPROXY listener and a wildcard DNS listener', () => {
  assert.deepEqual(planIssues({ rules: { mode: 'router' } }), [
    'rules.lan_interfaces: router mode needs lan_interfaces or lan_sources',
    'tproxy: router mode diverts with TPROXY: add a tproxy listener such as "[::]:12347"',
  ]);
  assert.deepEqual(planIssues({ tproxy: ['[::]:1'], dns: { listen: '127.0.0.1:53', upstreams: ['tcp://198.51.100.2:53'] }, rules: { mode: 'router', lan_interfaces: ['lan0'] } }), [
    "rules.dns_capture: router mode redirects DNS to the LAN interface's own address: the DNS listener must listen on 0.0.0.0 or [::]",
  ]);
  assert.deepEqual(planIssues({ rules: { lan_sources: ['203.0.113.0/24'] } }), ['rules.lan_interfaces: only router mode uses lan_interfaces/lan_sources (mode is host)']);
});

test("the daemon's own traffic must be excluded, by a mark that does not overlap the fwmark or by owner", () => {
  assert.match(planIssues({ mark: 0 })[0], /^mark: host mode diverts this host's own traffic/);
  assert.equal(planOf({ mark: 0, rules: { exclude_uids: [999] } }).daemonMark, 0);
  assert.deepEqual(planIssues({ mark: 3 }), ["rules.fwmark: overlaps the daemon's mark 0x3: the two marks must share no bit"]);
  assert.equal(planOf({ mark: 0, tproxy: ['[::]:1'], rules: { mode: 'router', lan_interfaces: ['lan0'] } }).daemonMark, 0);
});

test('rules config: unknown keys and bad values are errors with their key path', () => {
  assert.deepEqual(planIssues({ rules: { nope: 1, mode: 'bridge', bypass: ['300.1.1.1/8'], iptables_chain: 'lower' } }).sort(), [
    'rules.bypass.0: "300.1.1.1/8": expected an IPv4 or IPv6 address, optionally /prefix',
    'rules.iptables_chain: capitals, digits and _ only, at most 16',
    'rules.mode: Invalid option: expected one of "host"|"router"|"sidecar"',
    'rules.nope: unknown key',
  ]);
});
