import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEED_MORE } from '../../../src/core/need-more.js';
import {
  Socks4Reply,
  decodeSocks4Reply,
  decodeSocks4Request,
  encodeSocks4Reply,
  encodeSocks4Request,
  socks4ReplyReason,
} from '../../../src/codec/socks4.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

test('SOCKS4 CONNECT to an IPv4 address', () => {
  const req = { command: 1, addr: { kind: 'ipv4', host: '1.2.3.4', port: 80 }, userId: 'bob' } as const;
  const bytes = encodeSocks4Request(req);
  assert.equal(bytes.toString('hex'), '04010050 01020304 626f62 00'.replace(/ /g, ''));
  assert.deepEqual(decodeSocks4Request(bytes), { value: req, bytesRead: 12 });
});

test('SOCKS4a CONNECT to a domain', () => {
  const req = { command: 1, addr: { kind: 'domain', host: 'example.com', port: 443 }, userId: '' } as const;
  const bytes = encodeSocks4Request(req);
  assert.equal(bytes.toString('hex'), '040101bb 00000001 00 6578616d706c652e636f6d 00'.replace(/ /g, ''));
  assert.deepEqual(decodeSocks4Request(Buffer.concat([bytes, h('deadbeef')])), { value: req, bytesRead: bytes.length });
  assert.equal(decodeSocks4Request(bytes.subarray(0, bytes.length - 1)), NEED_MORE);
  assert.equal(decodeSocks4Request(bytes.subarray(0, 9)), NEED_MORE); // user-id done, domain not started
});

test('encoder refuses what SOCKS4 cannot say', () => {
  const v4 = { kind: 'ipv4', host: '1.2.3.4', port: 80 } as const;
  throwsCode(() => encodeSocks4Request({ command: 1, addr: { kind: 'ipv6', host: '::1', port: 80 }, userId: '' }), 'SOCKS4_NO_IPV6');
  throwsCode(() => encodeSocks4Request({ command: 1, addr: v4, userId: 'a\0b' }), 'SOCKS4_BAD_USERID');
  throwsCode(() => encodeSocks4Request({ command: 1, addr: v4, userId: 'x'.repeat(256) }), 'SOCKS4_BAD_USERID');
  throwsCode(() => encodeSocks4Request({ command: 1, addr: { kind: 'domain', host: 'ü'.repeat(128), port: 1 }, userId: '' }), 'SOCKS4_BAD_DOMAIN');
  throwsCode(() => encodeSocks4Request({ command: 1, addr: { kind: 'domain', host: 'a\0', port: 1 }, userId: '' }), 'SOCKS4_BAD_DOMAIN');
  throwsCode(() => encodeSocks4Request({ command: 1, addr: { kind: 'ipv4', host: '0.0.0.7', port: 1 }, userId: '' }), 'SOCKS4_BAD_ADDRESS');
  throwsCode(() => encodeSocks4Request({ command: 3 as 1, addr: v4, userId: '' }), 'SOCKS4_BAD_COMMAND');
  throwsCode(() => encodeSocks4Request({ command: 1, addr: { ...v4, port: 65536 }, userId: '' }), 'SOCKS4_BAD_PORT');
});

test('decoder bounds the NUL-terminated fields', () => {
  const head = h('04010050 01020304');
  assert.equal(decodeSocks4Request(Buffer.concat([head, Buffer.alloc(255, 0x61)])), NEED_MORE);
  throwsCode(() => decodeSocks4Request(Buffer.concat([head, Buffer.alloc(256, 0x61)])), 'SOCKS4_USERID_TOO_LONG');
  const head4a = h('04010050 00000001 00');
  assert.equal(decodeSocks4Request(Buffer.concat([head4a, Buffer.alloc(255, 0x61)])), NEED_MORE);
  throwsCode(() => decodeSocks4Request(Buffer.concat([head4a, Buffer.alloc(256, 0x61)])), 'SOCKS4_DOMAIN_TOO_LONG');
  throwsCode(() => decodeSocks4Request(Buffer.concat([head4a, h('00')])), 'SOCKS4_BAD_DOMAIN');
  throwsCode(() => decodeSocks4Request(Buffer.concat([head, h('ff00')])), 'SOCKS4_BAD_USERID');
  throwsCode(() => decodeSocks4Request(h('05')), 'SOCKS4_BAD_VERSION');
});

test('decoder passes unknown commands through for the caller to reject', () => {
  assert.deepEqual(decodeSocks4Request(h('04090050 01020304 00')), {
    value: { command: 9, addr: { kind: 'ipv4', host: '1.2.3.4', port: 80 }, userId: '' },
    bytesRead: 9,
  });
});

test('reply', () => {
  assert.equal(encodeSocks4Reply(Socks4Reply.GRANTED).toString('hex'), '005a000000000000');
  assert.equal(encodeSocks4Reply(Socks4Reply.REJECTED, { kind: 'ipv4', host: '10.0.0.1', port: 1080 }).toString('hex'), '005b04380a000001');
  assert.deepEqual(decodeSocks4Reply(h('005a000000000000')), { value: { code: 0x5a }, bytesRead: 8 });
  assert.deepEqual(decodeSocks4Reply(h('045b000000000000ff')), { value: { code: 0x5b }, bytesRead: 8 }); // lenient VN=4
  assert.equal(decodeSocks4Reply(h('005a0000000000')), NEED_MORE);
  throwsCode(() => decodeSocks4Reply(h('05')), 'SOCKS4_BAD_VERSION');
  throwsCode(() => encodeSocks4Reply(0x5a, { kind: 'ipv6', host: '::', port: 0 }), 'SOCKS4_NO_IPV6');
  throwsCode(() => encodeSocks4Reply(0x5a, { kind: 'domain', host: 'a', port: 0 }), 'SOCKS4_BAD_ADDRESS');
  throwsCode(() => encodeSocks4Reply(300), 'SOCKS4_BAD_REPLY');
});

test('reply reasons', () => {
  assert.equal(socks4ReplyReason(0x5a), 'request granted (CD=0x5a)');
  assert.match(socks4ReplyReason(0x5b), /rejected or failed \(CD=0x5b\)/);
  assert.match(socks4ReplyReason(0x5c), /identd/);
  assert.match(socks4ReplyReason(0x5d), /identd/);
  assert.equal(socks4ReplyReason(0x00), 'unassigned reply code (CD=0x00)');
});
