import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocksAddr } from '../../../src/core/addr.js';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { decodeSocksAddr, encodeSocksAddr, socksAddrLength } from '../../../src/codec/socks-addr.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const golden: Array<[SocksAddr, string]> = [
  [{ kind: 'domain', host: 'example.com', port: 443 }, '030b6578616d706c652e636f6d01bb'],
  [{ kind: 'ipv4', host: '192.168.1.1', port: 1080 }, '01c0a801010438'],
  [{ kind: 'ipv6', host: '2001:db8::1', port: 443 }, '0420010db800000000000000000000000101bb'],
];

test('golden address blocks encode, decode and measure', () => {
  for (const [addr, hex] of golden) {
    const bytes = encodeSocksAddr(addr);
    assert.equal(bytes.toString('hex'), hex);
    assert.equal(socksAddrLength(addr), bytes.length);
    assert.deepEqual(decodeSocksAddr(Buffer.from(hex, 'hex')), { value: addr, bytesRead: bytes.length });
  }
});

test('IPv6 is encoded from any text form and decoded canonical', () => {
  const bytes = encodeSocksAddr({ kind: 'ipv6', host: '2001:0DB8:0:0::0:1', port: 1 });
  assert.equal(bytes.toString('hex'), '0420010db80000000000000000000000010001');
  assert.deepEqual(decodeSocksAddr(bytes), { value: { kind: 'ipv6', host: '2001:db8::1', port: 1 }, bytesRead: 19 });
});

test('domain length is counted in UTF-8 bytes', () => {
  const max = 'ü'.repeat(127) + 'a'; // 255 bytes, 128 UTF-16 units
  const bytes = encodeSocksAddr({ kind: 'domain', host: max, port: 80 });
  assert.equal(bytes[1], 255);
  assert.equal(socksAddrLength({ kind: 'domain', host: max, port: 80 }), bytes.length);
  assert.deepEqual(decodeSocksAddr(bytes), { value: { kind: 'domain', host: max, port: 80 }, bytesRead: 259 });
  throwsCode(() => encodeSocksAddr({ kind: 'domain', host: 'ü'.repeat(128), port: 80 }), 'SOCKS5_BAD_DOMAIN');
  throwsCode(() => encodeSocksAddr({ kind: 'domain', host: 'a'.repeat(256), port: 80 }), 'SOCKS5_BAD_DOMAIN');
  throwsCode(() => encodeSocksAddr({ kind: 'domain', host: '', port: 80 }), 'SOCKS5_BAD_DOMAIN');
  throwsCode(() => encodeSocksAddr({ kind: 'domain', host: 'a\0b', port: 80 }), 'SOCKS5_BAD_DOMAIN');
  throwsCode(() => encodeSocksAddr({ kind: 'domain', host: 'a\ud800', port: 80 }), 'SOCKS5_BAD_DOMAIN');
});

test('a domain that spells an IP stays a domain', () => {
  const addr: SocksAddr = { kind: 'domain', host: '10.0.0.1', port: 22 };
  assert.deepEqual(decodeSocksAddr(encodeSocksAddr(addr)), { value: addr, bytesRead: 4 + 8 });
});

test('invalid blocks throw coded errors', () => {
  throwsCode(() => decodeSocksAddr(Buffer.from('02', 'hex')), 'SOCKS5_BAD_ATYP');
  throwsCode(() => decodeSocksAddr(Buffer.from('0300', 'hex')), 'SOCKS5_BAD_DOMAIN');
  throwsCode(() => decodeSocksAddr(Buffer.from('030361006200', 'hex')), 'SOCKS5_BAD_DOMAIN'); // NUL
  throwsCode(() => decodeSocksAddr(Buffer.from('030300', 'hex')), 'SOCKS5_BAD_DOMAIN'); // NUL seen early
  throwsCode(() => decodeSocksAddr(Buffer.from('0302ffff0050', 'hex')), 'SOCKS5_BAD_DOMAIN'); // not UTF-8
  throwsCode(() => encodeSocksAddr({ kind: 'ipv4', host: '1.2.3.256', port: 1 }), 'IP_BAD_IPV4');
  throwsCode(() => encodeSocksAddr({ kind: 'ipv6', host: '1.2.3.4', port: 1 }), 'IP_BAD_IPV6');
  for (const port of [-1, 65536, 1.5, NaN]) {
    throwsCode(() => encodeSocksAddr({ kind: 'ipv4', host: '1.2.3.4', port }), 'SOCKS5_BAD_PORT');
  }
  throwsCode(() => decodeSocksAddr(Buffer.from('01', 'hex'), -1), 'CODEC_BAD_OFFSET');
});

test('short input is NEED_MORE, and bytes after the block are left alone', () => {
  const bytes = Buffer.from(golden[0][1], 'hex');
  for (let i = 0; i < bytes.length; i++) assert.equal(decodeSocksAddr(bytes.subarray(0, i)), NEED_MORE);
  const withTail = Buffer.concat([Buffer.of(9, 9), bytes, Buffer.from('tail')]);
  assert.deepEqual(decodeSocksAddr(withTail, 2), { value: golden[0][0], bytesRead: bytes.length });
});
