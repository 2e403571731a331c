import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_HEAD_BYTES,
  decodeConnectRequest,
  decodeConnectResponse,
  encodeConnectRequest,
  httpConnectReason,
} from '../../../src/codec/http-connect.js';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('CONNECT request text', () => {
  assert.equal(
    encodeConnectRequest({ kind: 'domain', host: 'example.com', port: 443 }).toString(),
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
  );
  assert.equal(
    encodeConnectRequest({ kind: 'ipv6', host: '2001:0DB8:0::1', port: 443 }).toString(),
    'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n',
  );
  assert.equal(
    encodeConnectRequest({ kind: 'ipv4', host: '10.0.0.1', port: 22 }, { basicAuth: { username: 'Aladdin', password: 'open sesame' } }).toString(),
    'CONNECT 10.0.0.1:22 HTTP/1.1\r\nHost: 10.0.0.1:22\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n',
  );
});

test('CONNECT request refuses hosts that could smuggle or confuse', () => {
  for (const host of ['a b', 'evil\r\nX: 1', 'a\nb', 'bücher.de', 'a:b', '', 'a/b', '[::1]']) {
    throwsCode(() => encodeConnectRequest({ kind: 'domain', host, port: 80 }), 'HTTP_BAD_HOST');
  }
  throwsCode(() => encodeConnectRequest({ kind: 'domain', host: 'a', port: 70000 }), 'HTTP_BAD_PORT');
  const secret = 'hunter2-SECRET';
  throwsCode(
    () => encodeConnectRequest({ kind: 'domain', host: 'a', port: 1 }, { basicAuth: { username: `${secret}:x`, password: secret } }),
    'HTTP_BAD_CREDENTIALS',
    (e) => assert.ok(!e.message.includes('hunter'), e.message),
  );
});

test('response: status, reason, headers, tunnel bytes left unread', () => {
  const head = 'HTTP/1.1 200 Connection established\r\nProxy-Agent: test/1.0\r\nVia: a\r\nvia: b\r\n\r\n';
  const res = decodeConnectResponse(b(`${head}\x16\x03\x01tls`));
  assert.deepEqual(res, {
    value: { status: 200, reason: 'Connection established', headers: { 'proxy-agent': 'test/1.0', via: 'a, b' } },
    bytesRead: head.length,
  });
  assert.deepEqual(decodeConnectResponse(b('HTTP/1.0 200\n\nxyz')), { value: { status: 200, reason: '', headers: {} }, bytesRead: 14 });
  const folded = 'HTTP/1.1 407 Auth\r\nX-A:  1 \r\n\tfolded \r\n\r\n';
  assert.deepEqual(decodeConnectResponse(b(folded)), {
    value: { status: 407, reason: 'Auth', headers: { 'x-a': '1 folded' } },
    bytesRead: folded.length,
  });
  const proto = decodeConnectResponse(b('HTTP/1.1 200 OK\r\n__proto__: x\r\nConstructor: y\r\n\r\n'));
  assert.ok(proto !== NEED_MORE);
  assert.equal(Object.getPrototypeOf(proto.value.headers), Object.prototype);
  assert.deepEqual(Object.entries(proto.value.headers), [['__proto__', 'x'], ['constructor', 'y']]);
});

test('response: partial input waits, wrong protocol fails fast', () => {
  const full = b('HTTP/1.1 200 OK\r\n\r\n');
  for (let i = 0; i < full.length; i++) assert.equal(decodeConnectResponse(full.subarray(0, i)), NEED_MORE);
  throwsCode(() => decodeConnectResponse(Buffer.of(0x05, 0x00)), 'HTTP_BAD_STATUS_LINE');
  throwsCode(() => decodeConnectResponse(b('SSH-2.0')), 'HTTP_BAD_STATUS_LINE');
  throwsCode(() => decodeConnectResponse(b('HTTP/1.1 20 OK\r\n\r\n')), 'HTTP_BAD_STATUS_LINE');
  throwsCode(() => decodeConnectResponse(b('HTTP/1.1 200 O\rK\r\n\r\n')), 'HTTP_BAD_STATUS_LINE');
  throwsCode(() => decodeConnectResponse(b('HTTP/1.1 200 OK\r\nno colon\r\n\r\n')), 'HTTP_BAD_HEADER');
  throwsCode(() => decodeConnectResponse(b('HTTP/1.1 200 OK\r\nbad name: 1\r\n\r\n')), 'HTTP_BAD_HEADER');
  throwsCode(() => decodeConnectResponse(b('HTTP/1.1 200 OK\r\n folded-first\r\n\r\n')), 'HTTP_BAD_HEADER');
});

test('response head is capped at 16 KiB', () => {
  const start = 'HTTP/1.1 200 OK\r\nX: ';
  const fits = (total: number): Buffer => b(start + 'a'.repeat(total - start.length - 4) + '\r\n\r\n');
  const exact = fits(MAX_HEAD_BYTES);
  assert.equal(exact.length, 16384);
  assert.equal((decodeConnectResponse(exact) as { bytesRead: number }).bytesRead, 16384);
  throwsCode(() => decodeConnectResponse(fits(MAX_HEAD_BYTES + 1)), 'HTTP_HEADER_TOO_LARGE');
  const endless = b(start + 'a'.repeat(MAX_HEAD_BYTES));
  assert.equal(decodeConnectResponse(endless.subarray(0, MAX_HEAD_BYTES - 1)), NEED_MORE);
  throwsCode(() => decodeConnectResponse(endless.subarray(0, MAX_HEAD_BYTES)), 'HTTP_HEADER_TOO_LARGE');
  throwsCode(() => decodeConnectRequest(b(`CONNECT a:1 HTTP/1.1\r\n${'x'.repeat(MAX_HEAD_BYTES)}`)), 'HTTP_HEADER_TOO_LARGE');
});

test('server side: CONNECT request decoding', () => {
  const wire = encodeConnectRequest({ kind: 'ipv6', host: '::ffff:1.2.3.4', port: 8443 }, { basicAuth: { username: 'u', password: 'p' } });
  assert.deepEqual(decodeConnectRequest(Buffer.concat([wire, b('early data')])), {
    value: {
      target: { kind: 'ipv6', host: '::ffff:102:304', port: 8443 },
      headers: { host: '[::ffff:102:304]:8443', 'proxy-authorization': 'Basic dTpw' },
    },
    bytesRead: wire.length,
  });
  const v4 = decodeConnectRequest(b('CONNECT 1.2.3.4:80 HTTP/1.0\n\n'));
  assert.deepEqual(v4, { value: { target: { kind: 'ipv4', host: '1.2.3.4', port: 80 }, headers: {} }, bytesRead: 29 });
  throwsCode(() => decodeConnectRequest(b('GET / HTTP/1.1\r\n\r\n')), 'HTTP_BAD_METHOD');
  throwsCode(() => decodeConnectRequest(b('CONNECT example.com HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeConnectRequest(b('CONNECT example.com:99999 HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeConnectRequest(b('CONNECT [::g]:1 HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeConnectRequest(b('CONNECT a:1 HTTP/1.1 x\r\n\r\n')), 'HTTP_BAD_REQUEST_LINE');
});

test('reason strings', () => {
  assert.equal(httpConnectReason(200, 'Connection established'), 'tunnel established (HTTP 200 Connection established)');
  assert.equal(httpConnectReason(407, 'Proxy Authentication Required'), 'HTTP proxy requires authentication (check the credentials) (HTTP 407 Proxy Authentication Required)');
  assert.equal(httpConnectReason(418, ''), 'HTTP proxy refused CONNECT (HTTP 418)');
  assert.equal(httpConnectReason(500, 'bad\x1b[31m\x00'), 'HTTP proxy refused CONNECT (HTTP 500 bad [31m)');
});
