// One matcher per file (src/route/match/*.ts): what each looks at, and the text logs and explain show.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { CidrSet } from '../../../src/route/match/cidr-set.js';
import { CidrMatcher } from '../../../src/route/match/cidr.js';
import { DomainSet } from '../../../src/route/match/domain-set.js';
import { DomainMatcher } from '../../../src/route/match/domain.js';
import { InboundMatcher } from '../../../src/route/match/inbound.js';
import { listText, MatchInput, type Matcher, type RouteQuery } from '../../../src/route/match/matcher.js';
import { NetworkMatcher } from '../../../src/route/match/network.js';
import { PortSet } from '../../../src/route/match/port-set.js';
import { PortMatcher } from '../../../src/route/match/port.js';
import { SourceMatcher } from '../../../src/route/match/source.js';
import { UserMatcher } from '../../../src/route/match/user.js';

/** A flow as matchers see it (each its own MatchInput, as each decision resets the route's). */
const query = (fields: Partial<RouteQuery> = {}): MatchInput =>
  new MatchInput().reset({
    network: 'tcp',
    inbound: 'redirect',
    src: addrOf('192.0.2.10', 40000),
    dst: addrOf('198.51.100.20', 443),
    ...fields,
  });

test('cidr: the destination address; a destination given by name never matches', () => {
  const m = new CidrMatcher(CidrSet.of(['198.51.100.0/24', '2001:db8::/32']), 'cidr=[198.51.100.0/24,2001:db8::/32]');
  assert.ok(m.matches(query()));
  assert.ok(m.matches(query({ dst: addrOf('2001:db8::5', 53) })));
  assert.ok(!m.matches(query({ dst: addrOf('203.0.113.1', 443) })));
  assert.ok(!m.matches(query({ dst: addrOf('198.51.100.20.example', 443) })));
  // The source is not the destination.
  assert.ok(!m.matches(query({ src: addrOf('198.51.100.1', 1), dst: addrOf('203.0.113.1', 443) })));
  assert.equal(String(m), 'cidr=[198.51.100.0/24,2001:db8::/32]');
  assert.equal((m as Matcher).needsHost, undefined);
});

test('source: the client address (router mode: which LAN host)', () => {
  const m = new SourceMatcher(CidrSet.of(['192.0.2.0/26']), 'source=[192.0.2.0/26]');
  assert.ok(m.matches(query()));
  assert.ok(!m.matches(query({ src: addrOf('192.0.2.64', 40000) })));
  assert.ok(!m.matches(query({ src: addrOf('203.0.113.1', 1), dst: addrOf('192.0.2.1', 80) })));
  assert.equal(String(m), 'source=[192.0.2.0/26]');
});

test('domain: the name the flow is known to be for, else a destination given by name; no name, no match', () => {
  const set = new DomainSet();
  set.addSuffix('corp.example');
  const m = new DomainMatcher(set, 'domain_suffix=[corp.example]');
  assert.ok(m.needsHost);
  assert.ok(m.matches(query({ host: 'git.corp.example' })));
  assert.ok(m.matches(query({ dst: addrOf('git.corp.example', 443) })));
  assert.ok(!m.matches(query()));
  assert.ok(!m.matches(query({ host: 'example.org' })));
  // The known name wins over the destination's.
  assert.ok(!m.matches(query({ dst: addrOf('git.corp.example', 443), host: 'example.org' })));
  assert.equal(String(m), 'domain_suffix=[corp.example]');
});

test('port: the destination port against single ports and ranges', () => {
  const set = new PortSet();
  set.add(25);
  set.add('6881-6889');
  const m = new PortMatcher(set, listText('port', [25, '6881-6889']));
  assert.ok(m.matches(query({ dst: addrOf('198.51.100.20', 25) })));
  assert.ok(m.matches(query({ dst: addrOf('198.51.100.20', 6885) })));
  assert.ok(!m.matches(query()));
  assert.ok(!m.matches(query({ src: addrOf('192.0.2.10', 25) })), 'the source port is not looked at');
  assert.equal(String(m), 'port=[25,6881-6889]');
});

test('network: tcp or udp', () => {
  const m = new NetworkMatcher('udp');
  assert.ok(m.matches(query({ network: 'udp' })) && !m.matches(query()));
  assert.equal(String(m), 'network=udp');
});

test('inbound: any of the listed inbounds', () => {
  const m = new InboundMatcher(['tproxy', 'dns']);
  assert.ok(m.matches(query({ inbound: 'tproxy' })) && m.matches(query({ inbound: 'dns' })) && !m.matches(query()));
  assert.equal(String(m), 'inbound=[tproxy,dns]');
});

test('listText shows up to eight values, then how many there are', () => {
  assert.equal(listText('domain', ['a.example']), 'domain=[a.example]');
  const many = Array.from({ length: 9 }, (_, i) => `${i}.example`);
  assert.equal(listText('domain', many.slice(0, 8)), `domain=[${many.slice(0, 8).join(',')}]`);
  assert.equal(listText('domain', many), `domain=[${many.slice(0, 8).join(',')},…] (9 entries)`);
});

test('user: the name a proxy-inbound client logged in as; a flow without one never matches', () => {
  const m = new UserMatcher(['alice', 'bob']);
  assert.ok(m.matches(query({ inbound: 'socks', user: 'alice' })));
  assert.ok(!m.matches(query({ inbound: 'socks', user: 'carol' })));
  assert.ok(!m.matches(query({ inbound: 'socks' })));
  assert.ok(!m.matches(query({ user: 'Alice' })), 'names are compared exactly');
  assert.equal(String(m), 'user=[alice,bob]');
});

test('inbound: socks is one of the inbounds', () => {
  const m = new InboundMatcher(['socks']);
  assert.ok(m.matches(query({ inbound: 'socks' })));
  assert.ok(!m.matches(query()));
  assert.equal(String(m), 'inbound=[socks]');
});
