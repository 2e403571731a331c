import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';

const upstreams = [
  { name: 'a', url: 'socks5://198.51.100.1:1080' },
  { name: 'b', url: 'socks5://198.51.100.1:1081' },
];

function issuesOf(raw: Record<string, unknown>): string[] {
  try {
    validateConfig({ upstreams, ...raw });
  } catch (err) {
    return (err as { issues: { path: string; message: string }[] }).issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

test('a group is usable wherever an upstream name is: route rules, final, dns via; defaults filled in', () => {
  const config = validateConfig({
    upstreams,
    groups: [{ name: 'main', members: ['a', 'b'], check: { tcp: '203.0.113.2:80' } }, { name: 'outer', policy: 'round-robin', members: ['main', 'a'] }],
    route: { final: 'outer', rules: [{ port: [25], upstream: 'main' }] },
    dns: { listen: '127.0.0.1:5353', upstreams: ['tcp://192.0.2.53'], rules: [{ domain: ['x.example'], upstreams: ['tcp://192.0.2.53'], via: 'main' }] },
  });
  assert.deepEqual(config.groups[0], { name: 'main', policy: 'failover', members: ['a', 'b'], check: { interval_s: 30, timeout_ms: 3000, tcp: '203.0.113.2:80' }, failback_s: 2 });
  assert.deepEqual(config.health, { fail_after: 3, retry_ms: 1000, max_retry_s: 60 });
});

test('names are one namespace: a group may not take an upstream\'s name; unknown members and cycles are named by key path', () => {
  assert.deepEqual(issuesOf({ groups: [{ name: 'a', members: ['b'] }] }), ['groups.0.name: "a" names another upstream, group or chain already (upstreams.0.name)']);
  assert.deepEqual(issuesOf({ groups: [{ name: 'g', members: ['a', 'c'] }] }), ['groups.0.members.1: no upstream, group or chain is named "c" (known: a, b, g)']);
  assert.deepEqual(issuesOf({ groups: [{ name: 'g', members: ['g'] }] }), ['groups.0.members.0: "g" refers to itself']);
  assert.deepEqual(issuesOf({ groups: [{ name: 'g', members: ['a', 'h'] }, { name: 'h', members: ['g'] }] }), ['groups.1.members.0: "g" makes a cycle: g → h → g']);
  assert.deepEqual(issuesOf({ groups: [{ name: 'g', members: ['a'], policy: 'random' }] }).length, 1);
  assert.deepEqual(issuesOf({ groups: [{ name: 'g', members: ['a'], check: { tcp: 'nope' } }] })[0].startsWith('groups.0.check.tcp:'), true);
  assert.deepEqual(issuesOf({ route: { final: 'g' } }), ['route.final: no upstream, group or chain is named "g" (known: a, b); or direct, reject']);
});
