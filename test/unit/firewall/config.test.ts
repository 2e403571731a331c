import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rulesOverrides } from '../../../src/cli/rules-options.js';
import { loadConfig } from '../../../src/config/load.js';
import { dnsListenOf, ownedNames } from '../../../src/firewall/from-config.js';

test('rules: defaults when the section is absent', () => {
  const config = loadConfig(undefined, { upstream: ['socks5://192.0.2.1:1080'] });
  assert.deepEqual(
    { ...config.rules },
    { backend: 'auto', mode: 'host', lan_interfaces: [], lan_sources: [], bypass: [], bypass_ports: [], bypass_reserved: true, exclude_uids: [], exclude_gids: [], dns_capture: true, nft_table: 'socksgate', iptables_chain: 'SOCKSGATE', fwmark: 1, route_table: 100 },
  );
  assert.deepEqual(ownedNames(config), { nftTable: 'socksgate', chain: 'SOCKSGATE', fwmark: 1, routeTable: 100 });
});

test('rules flags override the file key by key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rules-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'upstreams: [socks5://192.0.2.1:1080]\nrules: { mode: router, lan_interfaces: [eth1], bypass_ports: [22] }\n');
  const flags = rulesOverrides({ rulesMode: 'host', lanInterface: undefined, bypassPort: [443], dnsCapture: false });
  assert.deepEqual(flags, { mode: 'host', bypass_ports: [443], dns_capture: false });
  const config = loadConfig(file, { rules: flags });
  assert.equal(config.rules.mode, 'host');
  assert.deepEqual(config.rules.lan_interfaces, ['eth1']);
  assert.deepEqual(config.rules.bypass_ports, [443]);
  assert.equal(config.rules.dns_capture, false);
});

test('the DNS listener is read from the dns section in any of its shapes', () => {
  assert.deepEqual(dnsListenOf({ dns: { listen: '127.0.0.53:53' } }), { kind: 'ipv4', host: '127.0.0.53', port: 53 });
  assert.deepEqual(dnsListenOf({ dns: { listen: ['[::]:53'] } }), { kind: 'ipv6', host: '::', port: 53 });
  assert.deepEqual(dnsListenOf({ dns: { listen: { host: '0.0.0.0', port: 5353 } } }), { kind: 'ipv4', host: '0.0.0.0', port: 5353 });
  assert.equal(dnsListenOf({ dns: {} }), undefined);
  assert.equal(dnsListenOf({}), undefined);
});
