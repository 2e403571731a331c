// The `route` section of the config (src/config/route-schema.ts, cross-checked in load.ts): every
// mistake is reported with its dotted key path before anything runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';

const upstreams = [
  { name: 'dante', url: 'socks5://198.51.100.1:1080' },
  { name: 'backup', url: 'http://198.51.100.1:3128' },
];
const issuesOf = (route: unknown, ups: unknown[] = upstreams) => configIssues(() => validateConfig({ upstreams: ups, route }));

test('a valid route is kept as written; no route means no rules and no final', () => {
  const rules = [
    { cidr: ['192.0.2.0/24', '2001:db8:3::/64'], action: 'direct' },
    { port: [25, '6881-6889', '443'], network: 'tcp', action: 'reject' },
    { inbound: 'tproxy', network: 'udp', port: [443], action: 'reject' },
    { domain_suffix: ['video.example'], upstream: 'backup' },
  ];
  const config = validateConfig({ upstreams, route: { final: 'dante', rules } });
  assert.equal(config.route.final, 'dante');
  assert.equal(config.route.rules.length, 4);
  assert.deepEqual(validateConfig({ upstreams }).route, { rules: [] });
});

test('names the route refers to must be upstreams (final may also be direct or reject)', () => {
  assert.deepEqual(issuesOf({ final: 'dnate', rules: [{ cidr: ['192.0.2.0/24'], upstream: 'bakup' }, { port: [25], upstream: 'direct' }] }), [
    'route.final: no upstream, group or chain is named "dnate" (known: dante, backup); or direct, reject',
    'route.rules.0.upstream: no upstream, group or chain is named "bakup" (known: dante, backup)',
    'route.rules.1.upstream: no upstream, group or chain is named "direct" (known: dante, backup)',
  ]);
});

test('upstream names are unique and are not action names', () => {
  assert.deepEqual(issuesOf({}, [{ name: 'a', url: 'socks5://198.51.100.1:1080' }, { name: 'a', url: 'socks5://198.51.100.2:1080' }, { name: 'reject', url: 'socks5://198.51.100.3:1080' }]), [
    'upstreams.1.name: "a" names another upstream, group or chain already (upstreams.0.name)',
    'upstreams.2.name: "reject" is a route action, not a name for an upstream or group',
  ]);
});

test('a rule gives exactly one of action and upstream', () => {
  assert.deepEqual(issuesOf({ rules: [{ cidr: ['192.0.2.0/24'] }, { cidr: ['192.0.2.0/24'], action: 'direct', upstream: 'dante' }] }), [
    'route.rules.0: give exactly one of action (direct, reject) or upstream (a name)',
    'route.rules.1: give exactly one of action (direct, reject) or upstream (a name)',
  ]);
  assert.deepEqual(issuesOf({ rules: [{ cidr: ['192.0.2.0/24'], action: 'proxy' }] }).map((i) => i.split(':')[0]), ['route.rules.0.action']);
});

test('a rule without a matcher is refused (final covers everything else)', () => {
  assert.deepEqual(issuesOf({ rules: [{ action: 'direct' }] }), [
    'route.rules.0: a rule needs at least one of cidr, cidr_file, domain, domain_suffix, domain_keyword, domain_file, port, network, source, inbound, user (use route.final for everything else)',
  ]);
});

test('unknown keys and empty lists are named', () => {
  const issues = issuesOf({ rules: [{ cidrs: ['192.0.2.0/24'], action: 'direct' }], fianl: 'dante' });
  assert.ok(issues.includes('route.fianl: unknown key') && issues.includes('route.rules.0.cidrs: unknown key'), issues.join('\n'));
  assert.deepEqual(issuesOf({ rules: [{ cidr: [], action: 'direct' }] }).map((i) => i.split(':')[0]), ['route.rules.0.cidr']);
});

test('bad values inside a matcher are named down to their index', () => {
  const issues = issuesOf({
    rules: [
      { cidr: ['192.0.2.0/24', '192.0.2.0/33'], action: 'direct' },
      { source: ['lan'], action: 'direct' },
      { port: [25, '6889-6881', '65536', 70000, 'http'], action: 'reject' },
      { network: 'icmp', action: 'reject' },
      { inbound: ['sock'], action: 'reject' },
      { user: [''], action: 'reject' },
    ],
  });
  assert.deepEqual(issues.map((i) => i.slice(0, i.indexOf(':'))), [
    'route.rules.0.cidr.1',
    'route.rules.1.source.0',
    'route.rules.2.port.1',
    'route.rules.2.port.2',
    'route.rules.2.port.3',
    'route.rules.2.port.4',
    'route.rules.3.network',
    'route.rules.4.inbound',
    'route.rules.5.user.0',
  ]);
});

test('domain names are names: a wildcard or a space is refused where it would silently never match', () => {
  assert.deepEqual(issuesOf({ rules: [{ domain_suffix: ['*.corp.example'], action: 'direct' }, { domain: ['ads example'], action: 'reject' }] }).map((i) => i.slice(0, i.indexOf(':'))), [
    'route.rules.0.domain_suffix.0',
    'route.rules.1.domain.0',
  ]);
  // Keywords are text: anything goes.
  assert.equal(validateConfig({ upstreams, route: { rules: [{ domain_keyword: ['track*'], action: 'reject' }] } }).route.rules.length, 1);
});
