import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CodecError, NEED_MORE } from '../../../src/core/need-more.js';
import {
  AuthMethod,
  Socks5Command,
  Socks5Reply,
  decodeGreeting,
  decodeMethodSelection,
  decodeReply,
  decodeRequest,
  decodeUserPassReply,
  decodeUserPassRequest,
  encodeGreeting,
  encodeMethodSelection,
  encodeReply,
  encodeRequest,
  encodeUserPassReply,
  encodeUserPassRequest,
  socks5ReplyReason,
} from '../../../src/codec/socks5.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');

test('greeting', () => {
  assert.equal(encodeGreeting([AuthMethod.NONE, AuthMethod.USERPASS]).toString('hex'), '05020002');
  assert.deepEqual(decodeGreeting(h('05020002')), { value: { methods: [0, 2] }, bytesRead: 4 });
  assert.equal(decodeGreeting(h('050200')), NEED_MORE);
  throwsCode(() => decodeGreeting(h('0500')), 'SOCKS5_NO_METHODS');
  throwsCode(() => decodeGreeting(h('04')), 'SOCKS5_BAD_VERSION', (e) => assert.match(e.message, /SOCKS4/));
  throwsCode(() => decodeGreeting(Buffer.from('GET / HTTP/1.1\r\n')), 'SOCKS5_BAD_VERSION', (e) => assert.match(e.message, /HTTP/));
  throwsCode(() => encodeGreeting([]), 'SOCKS5_BAD_METHODS');
  throwsCode(() => encodeGreeting(new Array<number>(256).fill(0)), 'SOCKS5_BAD_METHODS');
  throwsCode(() => encodeGreeting([256]), 'SOCKS5_BAD_METHODS');
});

test('method selection', () => {
  assert.equal(encodeMethodSelection(AuthMethod.NO_ACCEPTABLE).toString('hex'), '05ff');
  assert.deepEqual(decodeMethodSelection(h('0502')), { value: 2, bytesRead: 2 });
  assert.equal(decodeMethodSelection(h('05')), NEED_MORE);
  throwsCode(() => decodeMethodSelection(h('0100')), 'SOCKS5_BAD_VERSION');
});

test('username/password request (RFC 1929)', () => {
  const bytes = encodeUserPassRequest('user', 'pass');
  assert.equal(bytes.toString('hex'), '01047573657204' + '70617373');
  assert.deepEqual(decodeUserPassRequest(bytes), { value: { username: 'user', password: 'pass' }, bytesRead: 11 });
  assert.equal(encodeUserPassRequest('user', '').toString('hex'), '010475736572' + '00');
  assert.deepEqual(decodeUserPassRequest(h('01017500')), { value: { username: 'u', password: '' }, bytesRead: 4 });
  assert.equal(decodeUserPassRequest(bytes.subarray(0, 10)), NEED_MORE);
  throwsCode(() => encodeUserPassRequest('', 'x'), 'SOCKS5_AUTH_BAD_USERNAME');
  throwsCode(() => encodeUserPassRequest('é'.repeat(128), 'x'), 'SOCKS5_AUTH_BAD_USERNAME'); // 256 bytes
  throwsCode(() => encodeUserPassRequest('u', 'x'.repeat(256)), 'SOCKS5_AUTH_BAD_PASSWORD');
  throwsCode(() => decodeUserPassRequest(h('0100')), 'SOCKS5_AUTH_BAD_USERNAME');
  throwsCode(() => decodeUserPassRequest(h('05')), 'SOCKS5_AUTH_BAD_VERSION');
});

test('credentials never appear in error messages', () => {
  const secret = 'hunter2-SECRET';
  const noSecret = (e: CodecError): void => assert.ok(!e.message.includes(secret) && !e.message.includes('hunter'), e.message);
  throwsCode(() => encodeUserPassRequest(secret.repeat(20), 'pw'), 'SOCKS5_AUTH_BAD_USERNAME', noSecret);
  throwsCode(() => encodeUserPassRequest('user', secret.repeat(20)), 'SOCKS5_AUTH_BAD_PASSWORD', noSecret);
  throwsCode(() => encodeUserPassRequest('user', `${secret}\ud800`), 'SOCKS5_AUTH_BAD_PASSWORD', noSecret);
  const badUtf8 = Buffer.concat([h('01'), Buffer.of(secret.length), Buffer.from(secret), Buffer.of(secret.length + 1), Buffer.from(secret), h('ff')]);
  throwsCode(() => decodeUserPassRequest(badUtf8), 'SOCKS5_AUTH_BAD_PASSWORD', noSecret);
});

test('username/password reply accepts VER 1 and, leniently, 5', () => {
  assert.equal(encodeUserPassReply(0).toString('hex'), '0100');
  assert.deepEqual(decodeUserPassReply(h('0100')), { value: 0, bytesRead: 2 });
  assert.deepEqual(decodeUserPassReply(h('0501')), { value: 1, bytesRead: 2 });
  assert.equal(decodeUserPassReply(h('01')), NEED_MORE);
  throwsCode(() => decodeUserPassReply(h('0200')), 'SOCKS5_AUTH_BAD_VERSION');
});

test('CONNECT request: golden packets', () => {
  const connect = encodeRequest(Socks5Command.CONNECT, { kind: 'domain', host: 'example.com', port: 443 });
  assert.equal(connect.toString('hex'), '050100030b6578616d706c652e636f6d01bb');
  assert.deepEqual(decodeRequest(h('050100030b6578616d706c652e636f6d01bb')), {
    value: { command: 1, addr: { kind: 'domain', host: 'example.com', port: 443 } },
    bytesRead: 18,
  });
  const v6 = h('05010004 20010db8000000000000000000000001 0050');
  assert.equal(encodeRequest(1, { kind: 'ipv6', host: '2001:db8::1', port: 80 }).toString('hex'), v6.toString('hex'));
  assert.deepEqual(decodeRequest(v6), { value: { command: 1, addr: { kind: 'ipv6', host: '2001:db8::1', port: 80 } }, bytesRead: 22 });
  const udp = encodeRequest(Socks5Command.UDP_ASSOCIATE, { kind: 'ipv4', host: '0.0.0.0', port: 0 });
  assert.equal(udp.toString('hex'), '05030001000000000000');
});

test('request decoding is lenient about RSV and CMD, strict about VER and ATYP', () => {
  assert.deepEqual(decodeRequest(h('0509ff01010203040050')), {
    value: { command: 9, addr: { kind: 'ipv4', host: '1.2.3.4', port: 80 } },
    bytesRead: 10,
  });
  assert.equal(decodeRequest(h('050100')), NEED_MORE);
  throwsCode(() => decodeRequest(h('040100')), 'SOCKS5_BAD_VERSION');
  throwsCode(() => decodeRequest(h('05010002')), 'SOCKS5_BAD_ATYP');
  throwsCode(() => encodeRequest(256, { kind: 'ipv4', host: '1.2.3.4', port: 1 }), 'SOCKS5_BAD_COMMAND');
});

test('reply, with tunnel bytes after it left unread', () => {
  const bound = { kind: 'ipv4', host: '10.1.2.3', port: 40000 } as const;
  const bytes = encodeReply(Socks5Reply.SUCCEEDED, bound);
  assert.equal(bytes.toString('hex'), '050000010a0102039c40');
  const stream = Buffer.concat([bytes, Buffer.from('HTTP/1.1 200 OK\r\n')]);
  assert.deepEqual(decodeReply(stream), { value: { reply: 0, bound }, bytesRead: 10 });
  assert.deepEqual(decodeReply(h('0505000100000000 0000')), {
    value: { reply: Socks5Reply.CONNECTION_REFUSED, bound: { kind: 'ipv4', host: '0.0.0.0', port: 0 } },
    bytesRead: 10,
  });
  throwsCode(() => decodeReply(Buffer.from('HTTP/1.1 400')), 'SOCKS5_BAD_VERSION', (e) => assert.match(e.message, /HTTP/));
  throwsCode(() => encodeReply(-1, bound), 'SOCKS5_BAD_REPLY');
});

test('reply reasons', () => {
  assert.equal(socks5ReplyReason(5), 'connection refused by destination host (REP=5)');
  assert.equal(socks5ReplyReason(0), 'succeeded (REP=0)');
  assert.equal(socks5ReplyReason(8), 'address type not supported (REP=8)');
  assert.equal(socks5ReplyReason(0x2a), 'unassigned reply code (REP=0x2a)');
  assert.equal(socks5ReplyReason(9), 'unassigned reply code (REP=0x09)');
});
