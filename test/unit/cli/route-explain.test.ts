// `socksgate route explain` (src/cli/route-explain.ts): the flow it builds from the command line,
// and what it prints for the decision of the real compiled route.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { explainQuery, ExplainUsageError, formatExplanation } from '../../../src/cli/route-explain.js';
import { loadConfig } from '../../../src/config/load.js';
import { inspectRouting } from '../../../src/daemon/reload.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-explain-'));
const nets = join(dir, 'direct-nets.txt');
writeFileSync(nets, '# direct\n192.0.2.0/24\n2001:db8:3::/64\n203.0.113.128/25\n');
const configFile = join(dir, 'config.yaml');
writeFileSync(
  configFile,
  `upstreams:
  - { name: dante, url: socks5://198.51.100.1:1080 }
  - { name: backup, url: http://198.51.100.1:3128 }
  - { name: cascade, chain: [dante, backup] }
mark: 2
route:
  final: dante
  rules:
    - { cidr_file: ${nets}, action: direct }
    - { domain_suffix: [corp.example], action: direct }
    - { port: [25, "6881-6889"], network: tcp, action: reject }
    - { source: [198.51.100.0/26], action: direct }
    - { inbound: tproxy, network: udp, port: [443], action: reject }
    - { domain_suffix: [video.example], upstream: backup }
    - { domain_suffix: [chain.example], upstream: cascade }
    - { inbound: socks, user: [alice], action: direct }
`,
);
const config = loadConfig(configFile);
const { route } = inspectRouting(config);
const explain = (dest: string, flags: Record<string, unknown> = {}) => {
  const query = explainQuery({ dest, ...flags });
  return formatExplanation(query, route.decide(query), config).split('\n');
};

test('a list file rule: its log text with the entry count, the rule index, and a direct target with the mark', () => {
  assert.deepEqual(explain('192.0.2.7', { port: 443 }), [
    'flow:   tcp 0.0.0.0:0 → 192.0.2.7:443, inbound redirect',
    `rule:   cidr_file=${nets} (3 entries) → direct   [route.rules.0]`,
    'target: direct: socksgate connects to 192.0.2.7:443 itself, with SO_MARK 0x2, so it is not diverted again',
  ]);
});

test('a known name (--domain) decides domain rules and is what the upstream is asked for', () => {
  assert.deepEqual(explain('[2001:db8::1]:443', { domain: 'www.video.example' }).slice(1), [
    'rule:   domain_suffix=[video.example] → backup   [route.rules.5]',
    'target: upstream backup (http://198.51.100.1:3128), asked for www.video.example:443',
  ]);
  assert.equal(explain('git.corp.example:22')[1], 'rule:   domain_suffix=[corp.example] → direct   [route.rules.1]');
});

test('a chain is named with its hops', () => {
  assert.equal(explain('a.chain.example:443')[2], 'target: upstream cascade (chain dante → backup), asked for a.chain.example:443');
});

test('port, network, source and inbound come from the flags; --port wins over DEST\'s', () => {
  assert.equal(explain('203.0.113.5:25')[1], 'rule:   port=[25,6881-6889] network=tcp → reject   [route.rules.2]');
  assert.equal(explain('203.0.113.5:443', { port: 6885 })[1], 'rule:   port=[25,6881-6889] network=tcp → reject   [route.rules.2]');
  assert.equal(explain('203.0.113.5:25')[2], 'target: reject: the client is reset at once');
  assert.equal(explain('203.0.113.5', { source: '198.51.100.7' })[1], 'rule:   source=[198.51.100.0/26] → direct   [route.rules.3]');
  assert.deepEqual(explain('203.0.113.5:443', { udp: true }), [
    'flow:   udp 0.0.0.0:0 → 203.0.113.5:443, inbound tproxy',
    'rule:   port=[443] network=udp inbound=[tproxy] → reject   [route.rules.4]',
    'target: reject: the datagram is dropped and counted',
  ]);
  assert.equal(explain('203.0.113.5:443', { udp: true, inbound: 'dns' })[1], 'rule:   final → dante   [no rule matched: route.final]');
});

test('--user: a client of the socks inbound (the inbound implied), matched by user rules', () => {
  assert.deepEqual(explain('203.0.113.5:443', { user: 'alice' }).slice(0, 2), [
    'flow:   tcp 0.0.0.0:0 → 203.0.113.5:443, inbound socks, user alice',
    'rule:   inbound=[socks] user=[alice] → direct   [route.rules.7]',
  ]);
  assert.equal(explain('203.0.113.5:443', { user: 'bob', inbound: 'socks' })[1], 'rule:   final → dante   [no rule matched: route.final]');
  assert.throws(() => explainQuery({ dest: '203.0.113.5', user: 'alice', inbound: 'redirect' }), ExplainUsageError);
});

test('no rule matches: final, and the port shown as not given', () => {
  assert.deepEqual(explain('203.0.113.5'), [
    'flow:   tcp 0.0.0.0:0 → 203.0.113.5:0 (no port given), inbound redirect',
    'rule:   final → dante   [no rule matched: route.final]',
    'target: upstream dante (socks5://198.51.100.1:1080), asked for 203.0.113.5:0',
  ]);
});

test('v4-mapped and IPv6 destinations are taken as written', () => {
  assert.equal(explain('::ffff:192.0.2.9', { port: 80 })[0], 'flow:   tcp 0.0.0.0:0 → 192.0.2.9:80, inbound redirect');
  assert.equal(explain('2001:db8:3::9', { port: 80 })[1], `rule:   cidr_file=${nets} (3 entries) → direct   [route.rules.0]`);
});

test('bad command-line values are usage errors naming the value', () => {
  for (const [dest, flags, message] of [
    ['203.0.113.5', { port: 70000 }, /--port 70000/],
    ['2001:db8::1:443:x', {}, /DEST/],
    ['not a name', {}, /DEST "not a name"/],
    ['203.0.113.5', { domain: '*.example' }, /--domain "\*\.example"/],
    ['203.0.113.5', { source: 'lan' }, /--source "lan"/],
  ] as const) {
    assert.throws(() => explainQuery({ dest, ...flags }), (err: Error) => err instanceof ExplainUsageError && message.test(err.message), dest);
  }
});
