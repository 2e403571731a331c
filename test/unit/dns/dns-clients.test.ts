import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { test } from 'node:test';
import { DnsClientFilter, dnsClientSources } from '../../../src/inbound/dns-clients.js';

/** An interface address as os.networkInterfaces() reports it. */
const addr = (cidr: string): NetworkInterfaceInfo => {
  const [address] = cidr.split('/');
  const v4 = !address.includes(':');
  return { address, cidr, family: v4 ? 'IPv4' : 'IPv6', netmask: '', mac: '00:00:00:00:00:00', internal: false, ...(v4 ? {} : { scopeid: 0 }) } as NetworkInterfaceInfo;
};
const ROUTER = {
  lo: [addr('127.0.0.1/8'), addr('::1/128')],
  wan: [addr('198.51.100.2/24'), addr('2001:db8:2::2/64'), addr('fe80::2/64')],
  lan: [addr('192.0.2.1/24'), addr('2001:db8:4::1/64'), addr('fe80::1/64')],
};
const router = { mode: 'router' as const, lan_interfaces: ['lan'], lan_sources: ['203.0.113.128/26'] };

test('router mode: loopback, this host, the LAN interfaces’ subnets, lan_sources and allow_sources; not the WAN side', () => {
  const filter = new DnsClientFilter(dnsClientSources(router, ['10.99.0.0/16']), () => ROUTER);
  const allowed = ['127.0.0.1', '127.9.9.9', '::1', '192.0.2.77', '::ffff:192.0.2.77', '2001:db8:4::99', '203.0.113.130', '::ffff:203.0.113.130', '10.99.1.1', '198.51.100.2', '2001:db8:2::2'];
  const refused = ['198.51.100.3', '::ffff:198.51.100.3', '2001:db8:2::3', 'fe80::99', '203.0.113.1', '', 'not an address'];
  for (const a of allowed) assert.equal(filter.allows(a), true, a);
  for (const a of refused) assert.equal(filter.allows(a), false, a);
});

test('host and sidecar modes: only loopback, this host and allow_sources (lan_* belong to router mode)', () => {
  for (const mode of ['host', 'sidecar'] as const) {
    const filter = new DnsClientFilter(dnsClientSources({ ...router, mode }, []), () => ROUTER);
    assert.deepEqual(['::1', '198.51.100.2', '192.0.2.1', '192.0.2.77', '203.0.113.130'].map((a) => filter.allows(a)), [true, true, true, false, false], mode);
  }
});

test('an address the LAN interface gains later counts within a second; a flood of refused sources reads the table once a second', () => {
  let now = 0;
  let reads = 0;
  let table: typeof ROUTER = { ...ROUTER, lan: [] };
  const filter = new DnsClientFilter(dnsClientSources(router, []), () => (reads++, table), () => now);
  assert.equal(filter.allows('192.0.2.77'), false);
  table = ROUTER;
  for (let i = 0; i < 1000; i++) assert.equal(filter.allows('192.0.2.77'), false);
  assert.equal(reads, 1);
  now = 1_000;
  assert.equal(filter.allows('192.0.2.77'), true);
  assert.equal(reads, 2);
});
