import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import { decodeIpv4, decodeIpv6, encodeIp, parseIp } from '../../../src/codec/ip.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const hex = (b: Buffer): string => b.toString('hex');

test('IPv4 encodes to four octets and back', () => {
  assert.equal(hex(encodeIp('ipv4', '192.168.1.1')), 'c0a80101');
  assert.equal(hex(encodeIp('ipv4', '0.0.0.0')), '00000000');
  assert.equal(decodeIpv4(Buffer.from('ff7f0001', 'hex'), 0), '255.127.0.1');
  assert.equal(decodeIpv4(Buffer.from('aac0a80101', 'hex'), 1), '192.168.1.1');
});

test('IPv4 rejects anything but four plain decimal octets', () => {
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', '1..2.3', ' 1.2.3.4', '0x7f.0.0.1', '']) {
    throwsCode(() => encodeIp('ipv4', bad), 'IP_BAD_IPV4');
  }
});

test('IPv6 accepts every RFC 4291 text form', () => {
  const cases: Array<[string, string]> = [
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['64:ff9b::192.0.2.33', '0064ff9b0000000000000000c0000221'],
    ['1:2:3:4:5:6:10.0.0.1', '0001000200030004000500060a000001'],
  ];
  for (const [text, bytes] of cases) assert.equal(hex(encodeIp('ipv6', text)), bytes, text);
});

test('IPv6 rejects malformed text, zone ids and dotted heads', () => {
  for (const bad of [
    '', ':', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::',
    'fe80::1%eth0', '::1.2.3', '1.2.3.4::', '::1.2.3.4:5', 'g::1', '1:', ':1', '[::1]', '::01.2.3.4',
  ]) {
    throwsCode(() => encodeIp('ipv6', bad), 'IP_BAD_IPV6');
    assert.equal(parseIp('ipv6', bad), undefined);
  }
});

test('IPv6 acceptance agrees with node:net on a tricky sample', () => {
  const sample = ['::ffff:1.2.3.4', '1::1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1:2:3:4:5:6:7', '1:2:3:4:5:6:7::8', 'a:b::c:d:e:f:1'];
  for (const text of sample) assert.equal(parseIp('ipv6', text) !== undefined, isIPv6(text), text);
});

test('IPv6 decodes to the RFC 5952 form Node prints', () => {
  const cases: Array<[string, string]> = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a lone zero stays
    ['20010db8000000000001000000000000', '2001:db8:0:0:1::'], // the longer run wins
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000ffff01020304', '::ffff:102:304'], // no dotted tail, like URL
    ['ABCDEF0000000000000000000000FFFF'.toLowerCase(), 'abcd:ef00::ffff'],
  ];
  for (const [bytes, text] of cases) {
    assert.equal(decodeIpv6(Buffer.from(bytes, 'hex'), 0), text);
    assert.equal(new URL(`http://[${text}]`).hostname, `[${text}]`);
  }
});

test('decoding past the end throws CodecError, not RangeError', () => {
  throwsCode(() => decodeIpv4(Buffer.alloc(3), 0), 'IP_SHORT_BUFFER');
  throwsCode(() => decodeIpv6(Buffer.alloc(16), 1), 'IP_SHORT_BUFFER');
  throwsCode(() => decodeIpv4(Buffer.alloc(8), -1), 'IP_SHORT_BUFFER');
});
