import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocksAddr } from '../../../src/core/addr.js';
import { decodeSockaddr, encodeSockaddr } from '../../../src/codec/sockaddr.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Golden bytes as the kernel lays them out on little-endian Linux (family in host order).
const GOLDEN: Array<[string, SocksAddr, string]> = [
  ['127.0.0.1:12345', { kind: 'ipv4', host: '127.0.0.1', port: 12345 }, '0200 3039 7f000001 0000000000000000'],
  ['192.0.2.10:80', { kind: 'ipv4', host: '192.0.2.10', port: 80 }, '0200 0050 c000020a 0000000000000000'],
  ['[::1]:80', { kind: 'ipv6', host: '::1', port: 80 }, '0a00 0050 00000000 00000000000000000000000000000001 00000000'],
  [
    '[2001:db8::1]:443',
    { kind: 'ipv6', host: '2001:db8::1', port: 443 },
    '0a00 01bb 00000000 20010db8000000000000000000000001 00000000',
  ],
  ['0.0.0.0:65535', { kind: 'ipv4', host: '0.0.0.0', port: 65535 }, '0200 ffff 00000000 0000000000000000'],
];

for (const [name, addr, bytes] of GOLDEN) {
  test(`sockaddr ${name}: golden bytes both ways`, () => {
    assert.equal(encodeSockaddr(addr).toString('hex'), hex(bytes).toString('hex'));
    assert.deepEqual(decodeSockaddr(hex(bytes)), addr);
  });
}

test('a v4-mapped sockaddr_in6 decodes to plain IPv4', () => {
  const mapped = hex('0a00 0050 00000000 00000000000000000000ffff c000020a 00000000');
  assert.deepEqual(decodeSockaddr(mapped), { kind: 'ipv4', host: '192.0.2.10', port: 80 });
  // Encoding the mapped text as ipv6 gives those same bytes back.
  assert.deepEqual(encodeSockaddr({ kind: 'ipv6', host: '::ffff:192.0.2.10', port: 80 }), mapped);
});

test('flow info and scope id are ignored on decode, zero on encode', () => {
  const linkLocal = hex('0a00 0016 00012345 fe800000000000000000000000000001 02000000');
  assert.deepEqual(decodeSockaddr(linkLocal), { kind: 'ipv6', host: 'fe80::1', port: 22 });
  assert.equal(encodeSockaddr({ kind: 'ipv6', host: 'fe80::1', port: 22 }).subarray(24).toString('hex'), '00000000');
  assert.equal(encodeSockaddr({ kind: 'ipv6', host: 'fe80::1', port: 22 }).subarray(4, 8).toString('hex'), '00000000');
});

test('bytes after the struct (a sockaddr_storage) are ignored', () => {
  const storage = Buffer.concat([hex('0200 3039 7f000001 0000000000000000'), Buffer.alloc(112, 0xaa)]);
  assert.deepEqual(decodeSockaddr(storage), { kind: 'ipv4', host: '127.0.0.1', port: 12345 });
});

test('short buffers are SOCKADDR_SHORT', () => {
  throwsCode(() => decodeSockaddr(Buffer.alloc(0)), 'SOCKADDR_SHORT');
  throwsCode(() => decodeSockaddr(hex('02')), 'SOCKADDR_SHORT');
  throwsCode(() => decodeSockaddr(hex('0200 3039 7f000001 00000000000000')), 'SOCKADDR_SHORT'); // 15 bytes
  throwsCode(() => decodeSockaddr(hex('0200 3039 7f00')), 'SOCKADDR_SHORT');
  throwsCode(() => decodeSockaddr(hex('0a00 0050 00000000 00000000000000000000000000000001 000000')), 'SOCKADDR_SHORT'); // 27
  throwsCode(() => decodeSockaddr(hex('0a00 0050 00000000 00000000')), 'SOCKADDR_SHORT');
});

test('families other than AF_INET / AF_INET6 are SOCKADDR_BAD_FAMILY', () => {
  for (const family of ['0000', '0100', '0002', '000a', '1100', 'ffff']) {
    throwsCode(() => decodeSockaddr(hex(`${family} 0050 ${'00'.repeat(24)}`)), 'SOCKADDR_BAD_FAMILY');
  }
});

test('encode refuses domains, bad ports and malformed addresses', () => {
  throwsCode(() => encodeSockaddr({ kind: 'domain', host: 'example.com', port: 80 }), 'SOCKADDR_DOMAIN');
  for (const port of [-1, 65536, 1.5, NaN]) {
    throwsCode(() => encodeSockaddr({ kind: 'ipv4', host: '127.0.0.1', port }), 'SOCKADDR_BAD_PORT');
  }
  throwsCode(() => encodeSockaddr({ kind: 'ipv4', host: '::1', port: 1 }), 'IP_BAD_IPV4');
  throwsCode(() => encodeSockaddr({ kind: 'ipv6', host: '127.0.0.1', port: 1 }), 'IP_BAD_IPV6');
});

test('roundtrip of assorted addresses', () => {
  const addrs: SocksAddr[] = [
    { kind: 'ipv4', host: '255.255.255.255', port: 1 },
    { kind: 'ipv4', host: '10.1.2.3', port: 8080 },
    { kind: 'ipv6', host: '::', port: 0 },
    { kind: 'ipv6', host: '2001:db8:1:2:3:4:5:6', port: 65535 },
    { kind: 'ipv6', host: 'ff02::1:ff00:1', port: 53 },
  ];
  for (const a of addrs) assert.deepEqual(decodeSockaddr(encodeSockaddr(a)), a);
});
