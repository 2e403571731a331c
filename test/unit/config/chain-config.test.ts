import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { buildOutbounds } from '../../../src/outbound/registry.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';
import { pino } from 'pino';
import { configIssues } from '../../helpers/config-assert.js';

const A = { name: 'a', url: 'socks5://192.0.2.1:1080' };
const B = { name: 'b', url: 'http://192.0.2.1:8888' };

test('a chain entry names its hops; chains come in config.chains, URL upstreams stay in config.upstreams', () => {
  const config = validateConfig({ upstreams: [A, B, { name: 'a-b', chain: ['a', 'b'] }, { name: 'ab-a', chain: ['a-b', 'a'] }], route: { final: 'ab-a' } });
  assert.deepEqual(config.upstreams.map((u) => u.name), ['a', 'b']);
  assert.deepEqual(config.chains, [{ name: 'a-b', hops: ['a', 'b'] }, { name: 'ab-a', hops: ['a-b', 'a'] }]);
});

test('config errors name the key path: no url and no chain, both, no name, one hop, unknown hop, itself, a loop, login keys on a chain', () => {
  const issues = configIssues(() =>
    validateConfig({
      upstreams: [
        A,
        { name: 'none' },
        { name: 'both', url: 'socks5://192.0.2.1:1', chain: ['a', 'a'] },
        { chain: ['a', 'a'] },
        { name: 'short', chain: ['a'] },
        { name: 'creds', chain: ['a', 'a'], username: 'u', pipelining: 'on' },
      ],
    }),
  );
  assert.deepEqual(issues, [
    'upstreams.1: give exactly one of url (e.g. socks5://192.0.2.1:1080) or chain (a list of upstream names)',
    'upstreams.2: give exactly one of url (e.g. socks5://192.0.2.1:1080) or chain (a list of upstream names)',
    'upstreams.3.name: a chain needs a name',
    'upstreams.4.chain: a chain needs at least two hops',
    'upstreams.5.username: a chain has no login or pipelining of its own: set it on the hop',
    'upstreams.5.pipelining: a chain has no login or pipelining of its own: set it on the hop',
  ]);
  const names = configIssues(() =>
    validateConfig({
      upstreams: [A, { name: 'x', chain: ['a', 'nope'] }, { name: 'self', chain: ['a', 'self'] }, { name: 'p', chain: ['a', 'q'] }, { name: 'q', chain: ['p', 'a'] }],
    }),
  );
  assert.deepEqual(names, ['upstreams.1.chain.1: no upstream, group or chain is named "nope" (known: a, x, self, p, q)', 'upstreams.2.chain.1: "self" refers to itself']);
  // Loops are looked for once every name is known (outbound-names.ts, shared with groups).
  const loops = configIssues(() => validateConfig({ upstreams: [A, { name: 'p', chain: ['a', 'q'] }, { name: 'q', chain: ['p', 'a'] }] }));
  assert.deepEqual(loops, ['upstreams.2.chain.0: "p" makes a cycle: p → q → p']);
});

test('chain names share the upstreams\' namespace: a duplicate is an error, and the route may name a chain', () => {
  assert.deepEqual(configIssues(() => validateConfig({ upstreams: [A, { name: 'a', chain: ['a', 'a'] }] })), [
    'upstreams.1.name: "a" names another upstream, group or chain already (upstreams.0.name)',
    'upstreams.1.chain.0: "a" refers to itself',
    'upstreams.1.chain.1: "a" refers to itself',
  ]);
  const config = validateConfig({
    upstreams: [A, B, { name: 'c', chain: ['a', 'b'] }],
    route: { final: 'c', rules: [{ upstream: 'c', cidr: ['203.0.113.0/24'] }] },
  });
  assert.equal(config.route.final, 'c');
});

test('chains are built after the chains they use, each over the outbounds its hops name', () => {
  const config = validateConfig({ upstreams: [A, B, { name: 'outer', chain: ['inner', 'a'] }, { name: 'inner', chain: ['a', 'b'] }], route: { final: 'outer' } });
  const registry = buildOutbounds(config, { udpCounters: createUdpCounters(), log: pino({ level: 'silent' }) });
  assert.deepEqual([...registry.byName.keys()], ['a', 'b', 'inner', 'outer']);
  assert.deepEqual(registry.chains.map((o) => o.name), ['inner', 'outer']);
  assert.deepEqual(registry.byName.get('outer')!.server, { kind: 'ipv4', host: '192.0.2.1', port: 1080 });
});
