import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocksAddr } from '../../../src/core/addr.js';
import { relayAddress } from '../../../src/outbound/udp-relay-address.js';

const server: SocksAddr = { kind: 'ipv4', host: '192.0.2.1', port: 1080 };
const v4 = (host: string, port = 4000): SocksAddr => ({ kind: 'ipv4', host, port });
const v6 = (host: string, port = 4000): SocksAddr => ({ kind: 'ipv6', host, port });

test('relay address: a routable announcement is used as is (Dante, v2ray with `ip`)', () => {
  assert.deepEqual(relayAddress(v4('192.0.2.1', 40123), server), { addr: v4('192.0.2.1', 40123) });
  assert.deepEqual(relayAddress(v4('203.0.113.7'), server), { addr: v4('203.0.113.7') });
  assert.deepEqual(relayAddress(v6('2001:db8:1::1'), server), { addr: v6('2001:db8:1::1') });
  assert.deepEqual(relayAddress(v6('::ffff:192.0.2.1'), server), { addr: v4('192.0.2.1') });
});

test('relay address: unspecified, loopback, link-local and names become the server address with the port', () => {
  for (const bad of [v4('0.0.0.0'), v6('::'), v4('127.0.0.1'), v6('::1'), v4('169.254.1.1'), v6('fe80::1'), { kind: 'domain', host: 'relay.example', port: 4000 } as SocksAddr]) {
    const r = relayAddress(bad, server);
    assert.deepEqual(r.addr, { ...server, port: 4000 }, bad.host);
    assert.ok(r.fixup, bad.host);
  }
});

test('relay address: a loopback server may announce loopback', () => {
  const local: SocksAddr = v4('127.0.0.1', 1080);
  assert.deepEqual(relayAddress(v4('127.0.0.1', 5000), local), { addr: v4('127.0.0.1', 5000) });
  assert.deepEqual(relayAddress(v4('0.0.0.0', 5000), local).addr, v4('127.0.0.1', 5000));
});
