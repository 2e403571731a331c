// compileRoute (src/route/compile.ts): config `route` → rules in order, first match wins, final for the rest.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Outbound } from '../../../src/adapter/outbound.js';
import { validateConfig } from '../../../src/config/load.js';
import { addrOf } from '../../../src/core/addr.js';
import { rejectOutbound } from '../../../src/outbound/reject.js';
import { compileRoute, type CompiledRoute } from '../../../src/route/compile.js';
import type { RouteQuery } from '../../../src/route/match/matcher.js';
import { configIssues } from '../../helpers/config-assert.js';
import { noUdp } from '../../helpers/outbounds.js';

function fakeOutbound(name: string): Outbound {
  return { name, server: addrOf('198.51.100.1', 1080), dial: () => Promise.reject(new Error('no dialing in this test')), associate: noUdp };
}

const direct = fakeOutbound('direct');
const dante = fakeOutbound('dante');
const backup = fakeOutbound('backup');

function routeOf(route: unknown): CompiledRoute {
  const upstreams = [
    { name: 'dante', url: 'socks5://198.51.100.1:1080' },
    { name: 'backup', url: 'http://198.51.100.1:3128' },
  ];
  const config = validateConfig({ upstreams, route });
  const byName = new Map([dante, backup].map((o) => [o.name, o]));
  return compileRoute(config.route, { upstream: (name) => byName.get(name), direct, reject: rejectOutbound }, dante);
}

function listFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-route-')), 'list.txt');
  writeFileSync(file, text);
  return file;
}

const flow = (dst: string, port = 443, fields: Partial<RouteQuery> = {}): RouteQuery => ({ network: 'tcp', inbound: 'redirect', src: addrOf('192.0.2.10', 40000), dst: addrOf(dst, port), ...fields });

test('no rules: every flow goes to the first upstream, as before routing existed', () => {
  const route = routeOf(undefined);
  const d = route.decide(flow('203.0.113.1'));
  assert.equal(d.outbound, dante);
  assert.equal(d.rule, 'final → dante');
  assert.equal(d.index, -1);
  assert.equal(route.size, 0);
  assert.equal(route.needsHost, false);
});

test('final may name an upstream, direct or reject', () => {
  assert.equal(routeOf({ final: 'backup' }).decide(flow('203.0.113.1')).outbound, backup);
  assert.equal(routeOf({ final: 'direct' }).decide(flow('203.0.113.1')).rule, 'final → direct');
  assert.equal(routeOf({ final: 'reject' }).decide(flow('203.0.113.1')).outbound, rejectOutbound);
  assert.deepEqual(['backup', 'direct', 'reject', undefined].map((final) => routeOf({ final }).final.action), ['upstream', 'direct', 'reject', 'upstream']);
});

test('each decision says what it does: upstream, direct or reject', () => {
  const route = routeOf({ rules: [{ port: [1], action: 'direct' }, { port: [2], action: 'reject' }, { port: [3], upstream: 'backup' }] });
  assert.deepEqual([1, 2, 3].map((port) => route.decide(flow('203.0.113.1', port)).action), ['direct', 'reject', 'upstream']);
});

test('first match wins, even when a later rule matches too', () => {
  const route = routeOf({
    rules: [
      { cidr: ['203.0.113.0/25'], action: 'reject' },
      { cidr: ['203.0.113.0/24'], action: 'direct' },
      { cidr: ['203.0.113.0/24'], upstream: 'backup' },
    ],
  });
  assert.deepEqual([route.decide(flow('203.0.113.5')).index, route.decide(flow('203.0.113.200')).index, route.decide(flow('192.0.2.1')).index], [0, 1, -1]);
  assert.equal(route.decide(flow('203.0.113.5')).outbound, rejectOutbound);
  assert.equal(route.decide(flow('203.0.113.200')).outbound, direct);
});

test('all matchers of a rule must match; any value inside one matcher may', () => {
  const route = routeOf({ rules: [{ cidr: ['192.0.2.0/24', '2001:db8::/32'], port: [25, '6881-6889'], network: 'tcp', action: 'reject' }] });
  assert.equal(route.decide(flow('192.0.2.1', 25)).index, 0);
  assert.equal(route.decide(flow('2001:db8::1', 6881)).index, 0);
  assert.equal(route.decide(flow('192.0.2.1', 443)).index, -1, 'the port does not match');
  assert.equal(route.decide(flow('198.51.100.1', 25)).index, -1, 'the address does not match');
  assert.equal(route.decide(flow('192.0.2.1', 25, { network: 'udp' })).index, -1, 'the network does not match');
});

test('every matcher key: domain (exact), domain_suffix, domain_keyword, source, inbound', () => {
  const route = routeOf({
    rules: [
      { domain: ['ads.example'], action: 'reject' },
      { domain_suffix: ['corp.example'], action: 'direct' },
      { domain_keyword: ['tracker'], action: 'reject' },
      { source: ['198.51.100.0/26'], action: 'direct' },
      { inbound: 'tproxy', network: 'udp', port: [443], action: 'reject' },
      { inbound: ['dns'], upstream: 'backup' },
    ],
  });
  assert.equal(route.needsHost, true);
  assert.equal(route.decide(flow('203.0.113.1', 443, { host: 'ads.example' })).index, 0);
  assert.equal(route.decide(flow('203.0.113.1', 443, { host: 'x.ads.example' })).index, -1);
  assert.equal(route.decide(flow('git.corp.example')).index, 1);
  assert.equal(route.decide(flow('203.0.113.1', 443, { host: 'mytracker.example' })).index, 2);
  assert.equal(route.decide(flow('203.0.113.1', 443, { src: addrOf('198.51.100.9', 5000) })).index, 3);
  assert.equal(route.decide(flow('203.0.113.1', 443, { network: 'udp', inbound: 'tproxy' })).index, 4);
  assert.equal(route.decide(flow('203.0.113.1', 443, { network: 'udp', inbound: 'redirect' })).index, -1);
  assert.equal(route.decide(flow('203.0.113.53', 53, { inbound: 'dns' })).outbound, backup);
});

test('user and inbound: socks select proxy-inbound clients by their login', () => {
  const route = routeOf({
    rules: [
      { inbound: 'socks', user: ['alice'], action: 'direct' },
      { inbound: 'socks', action: 'reject' },
    ],
  });
  assert.equal(route.decide(flow('203.0.113.1', 443, { inbound: 'socks', user: 'alice' })).rule, 'inbound=[socks] user=[alice] → direct');
  assert.equal(route.decide(flow('203.0.113.1', 443, { inbound: 'socks', user: 'bob' })).index, 1);
  assert.equal(route.decide(flow('203.0.113.1', 443, { inbound: 'socks' })).index, 1);
  assert.equal(route.decide(flow('203.0.113.1', 443, { user: 'alice' })).index, -1, 'a redirected flow is not a socks one');
});

test('each decision names its rule as logs show it: matchers then the target', () => {
  const nets = listFile('192.0.2.0/24\n# a comment\n198.51.100.0/24\n');
  const names = listFile('full:ads.example\nkeyword:tracker\n');
  const route = routeOf({
    rules: [
      { cidr_file: nets, action: 'direct' },
      { domain: ['ads.example'], domain_keyword: ['tracker'], domain_file: names, action: 'reject' },
      { port: [25, '6881-6889'], network: 'tcp', action: 'reject' },
      { cidr: ['203.0.113.0/24'], cidr_file: nets, source: ['192.0.2.0/26'], inbound: ['redirect', 'tproxy'], upstream: 'backup' },
    ],
  });
  assert.equal(route.decide(flow('192.0.2.1')).rule, `cidr_file=${nets} (2 entries) → direct`);
  assert.equal(route.decide(flow('203.0.113.1', 443, { host: 'ads.example' })).rule, `domain=[ads.example] or domain_keyword=[tracker] or domain_file=${names} (2 entries) → reject`);
  assert.equal(route.decide(flow('203.0.113.1', 25)).rule, 'port=[25,6881-6889] network=tcp → reject');
  assert.equal(route.decide(flow('203.0.113.1', 443, { src: addrOf('192.0.2.1', 1) })).rule, `cidr=[203.0.113.0/24] or cidr_file=${nets} (2 entries) source=[192.0.2.0/26] inbound=[redirect,tproxy] → backup`);
});

test('a rule decides with one frozen Decision, the same object for every flow it matches', () => {
  const route = routeOf({ rules: [{ cidr: ['192.0.2.0/24'], action: 'direct' }] });
  const a = route.decide(flow('192.0.2.1'));
  assert.equal(route.decide(flow('192.0.2.2')), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(route.final));
  assert.equal(route.decide(flow('203.0.113.1')), route.final);
});

test('cidr_file: IPv4, IPv6, bare addresses and v4-mapped entries', () => {
  const route = routeOf({ rules: [{ cidr_file: listFile('192.0.2.0/24\n2001:db8::/32\n203.0.113.7\n::ffff:198.51.100.0/120\n'), action: 'direct' }] });
  for (const hit of ['192.0.2.9', '2001:db8::9', '203.0.113.7', '198.51.100.9', '::ffff:198.51.100.9']) assert.equal(route.decide(flow(hit)).index, 0, hit);
  for (const miss of ['203.0.113.8', '2001:db9::1']) assert.equal(route.decide(flow(miss)).index, -1, miss);
});

test('domain_file lines: full:NAME exactly, suffix:NAME and a bare NAME with every name under it, keyword:TEXT anywhere', () => {
  const route = routeOf({ rules: [{ domain_file: listFile('full:exact.example\nsuffix:suffix.example\nbare.example\nkeyword:tracker\nTrailing.Example.\n'), action: 'reject' }] });
  const index = (host: string) => route.decide(flow('203.0.113.1', 443, { host })).index;
  assert.deepEqual(
    ['exact.example', 'a.exact.example', 'suffix.example', 'a.suffix.example', 'bare.example', 'a.bare.example', 'notbare.example', 'x-tracker.example', 'a.trailing.example'].map(index),
    [0, -1, 0, 0, 0, 0, -1, 0, 0],
  );
});

test('a bad cidr_file or domain_file line: ConfigError naming the rule key and file:line', () => {
  const nets = listFile('# nets\n192.0.2.0/24\n\n192.0.2.0/33\n');
  assert.deepEqual(configIssues(() => routeOf({ rules: [{ cidr: ['203.0.113.0/24'], action: 'direct' }, { cidr_file: nets, action: 'direct' }] })), [
    `route.rules.1.cidr_file: ${nets}:4: "192.0.2.0/33": IPv4 prefix length must be 0-32`,
  ]);
  const names = listFile('ok.example\nregexp:^ads\\.\n');
  assert.deepEqual(configIssues(() => routeOf({ rules: [{ domain_file: names, action: 'reject' }] })), [
    `route.rules.0.domain_file: ${names}:2: "regexp:^ads\\.": expected a domain name, or full:NAME, suffix:NAME, keyword:TEXT`,
  ]);
  const missing = join(tmpdir(), 'sg-route-no-such-list.txt');
  assert.deepEqual(configIssues(() => routeOf({ rules: [{ cidr_file: missing, action: 'direct' }] })), [`route.rules.0.cidr_file: ${missing}: cannot read: ENOENT`]);
});

test('a wildcard in a domain_file is refused: a bare NAME already covers every name under it', () => {
  const names = listFile('*.ads.example\n');
  assert.deepEqual(configIssues(() => routeOf({ rules: [{ domain_file: names, action: 'reject' }] })), [
    `route.rules.0.domain_file: ${names}:1: "*.ads.example": no wildcards: a bare NAME (or suffix:NAME) matches it and every name under it`,
  ]);
});

test('an inline value the schema takes but the compiled set cannot (an IPv6 zone) is a ConfigError naming its key, not a crash', () => {
  assert.deepEqual(configIssues(() => routeOf({ rules: [{ cidr: ['192.0.2.0/24', 'fe80::1%eth0/64'], action: 'direct' }] })), [
    'route.rules.0.cidr.1: "fe80::1%eth0/64": expected an IPv4 or IPv6 address (no zone), optionally /prefix',
  ]);
  assert.deepEqual(configIssues(() => routeOf({ rules: [{ source: ['fe80::1%eth0'], action: 'direct' }] })), ['route.rules.0.source.0: "fe80::1%eth0": expected an IPv4 or IPv6 address (no zone), optionally /prefix']);
});
