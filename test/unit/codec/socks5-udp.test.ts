import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader, writeSocks5UdpHeader } from '../../../src/codec/socks5-udp.js';
import { throwsCode } from '../../helpers/codec-assert.js';

test('socks5-udp: golden headers (RFC 1928 §7)', () => {
  assert.equal(encodeSocks5UdpHeader({ frag: 0, addr: { kind: 'ipv4', host: '198.51.100.2', port: 53 } }).toString('hex'), '000000' + '01' + 'c6336402' + '0035');
  assert.equal(
    encodeSocks5UdpHeader({ frag: 1, addr: { kind: 'ipv6', host: '2001:db8::1', port: 443 } }).toString('hex'),
    '000001' + '04' + '20010db8000000000000000000000001' + '01bb',
  );
  assert.equal(encodeSocks5UdpHeader({ frag: 0, addr: { kind: 'domain', host: 'a.io', port: 1 } }).toString('hex'), '000000' + '03' + '04' + Buffer.from('a.io').toString('hex') + '0001');
});

test('socks5-udp: decoding a reply with a domain source', () => {
  const wire = Buffer.from('000000' + '03' + '04' + Buffer.from('a.io').toString('hex') + '0035' + 'cafe', 'hex');
  assert.deepEqual(decodeSocks5UdpHeader(wire, 0), { value: { frag: 0, addr: { kind: 'domain', host: 'a.io', port: 53 } }, bytesRead: 11 });
});

test('socks5-udp: bad bytes are typed errors, short ones NEED_MORE', () => {
  throwsCode(() => decodeSocks5UdpHeader(Buffer.from('0100000100000000', 'hex'), 0), 'SOCKS5_UDP_BAD_RSV');
  throwsCode(() => decodeSocks5UdpHeader(Buffer.from('00000005', 'hex'), 0), 'SOCKS5_BAD_ATYP');
  throwsCode(() => decodeSocks5UdpHeader(Buffer.from('0000000300', 'hex'), 0), 'SOCKS5_BAD_DOMAIN');
  throwsCode(() => decodeSocks5UdpHeader(Buffer.alloc(4), 9), 'CODEC_BAD_OFFSET');
  assert.equal(decodeSocks5UdpHeader(Buffer.from('000000', 'hex'), 0), NEED_MORE);
  assert.equal(decodeSocks5UdpHeader(Buffer.from('00000001c63364', 'hex'), 0), NEED_MORE);
  throwsCode(() => encodeSocks5UdpHeader({ frag: 256, addr: { kind: 'ipv4', host: '1.2.3.4', port: 1 } }), 'SOCKS5_UDP_BAD_FRAG');
});

test('socks5-udp: writing a header needs enough headroom', () => {
  throwsCode(() => writeSocks5UdpHeader(Buffer.alloc(12), 9, { kind: 'ipv4', host: '1.2.3.4', port: 1 }), 'SOCKS5_UDP_NO_ROOM');
  const buf = Buffer.concat([Buffer.alloc(10), Buffer.from('xy')]);
  assert.equal(writeSocks5UdpHeader(buf, 10, { kind: 'ipv4', host: '1.2.3.4', port: 258 }), 0);
  assert.equal(buf.toString('hex'), '00000001010203040102' + '7879');
});
