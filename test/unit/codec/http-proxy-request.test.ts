// The HTTP proxy server's codec (src/codec/http-proxy-request.ts): CONNECT and absolute-form
// requests in, the origin-form head forwarded, Basic credentials, the proxy's own responses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBasicCredentials, decodeProxyRequest, encodeOriginRequest, encodeProxyResponse, type ProxyRequest } from '../../../src/codec/http-proxy-request.js';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const b = (text: string) => Buffer.from(text, 'latin1');
function decoded(text: string): ProxyRequest {
  const result = decodeProxyRequest(b(text));
  assert.notEqual(result, NEED_MORE);
  if (result === NEED_MORE) throw new Error('unreachable');
  assert.equal(result.bytesRead, Buffer.byteLength(text, 'latin1'));
  return result.value;
}

test('CONNECT: the authority is the target; IPv6 in brackets, names kept', () => {
  const req = decoded('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic YTpi\r\n\r\n');
  assert.deepEqual([req.method, req.target, req.path, req.version], ['CONNECT', { kind: 'domain', host: 'example.com', port: 443 }, undefined, '1.1']);
  assert.equal(req.headers['proxy-authorization'], 'Basic YTpi');
  assert.deepEqual(decoded('CONNECT [2001:db8::1]:22 HTTP/1.0\r\n\r\n').target, { kind: 'ipv6', host: '2001:db8::1', port: 22 });
  throwsCode(() => decodeProxyRequest(b('CONNECT example.com:0 HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeProxyRequest(b('CONNECT example.com HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
});

test('absolute-form: target from the URI (port 80 by default), path in origin-form', () => {
  const req = decoded('GET http://Example.COM/a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n');
  assert.deepEqual([req.target, req.path], [{ kind: 'domain', host: 'example.com', port: 80 }, '/a/b?c=d']);
  assert.deepEqual(decoded('HEAD http://192.0.2.1:8080 HTTP/1.0\r\n\r\n').path, '/');
  assert.deepEqual(decoded('GET http://[2001:db8::2]:81?x HTTP/1.1\r\n\r\n').path, '/?x');
  throwsCode(() => decodeProxyRequest(b('GET https://example.com/ HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeProxyRequest(b('GET /origin-form HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeProxyRequest(b('GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
  throwsCode(() => decodeProxyRequest(b('GET http://example.com:0/ HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
});

test('not HTTP fails on the first bytes; a partial head needs more; CR inside a header line is refused', () => {
  throwsCode(() => decodeProxyRequest(b('\x05\x01\x00')), 'HTTP_BAD_METHOD');
  throwsCode(() => decodeProxyRequest(b('get http://a/ HTTP/1.1\r\n\r\n')), 'HTTP_BAD_METHOD');
  throwsCode(() => decodeProxyRequest(b('ABCDEFGHIJKLMNOPQ')), 'HTTP_BAD_METHOD');
  assert.equal(decodeProxyRequest(b('GET')), NEED_MORE);
  assert.equal(decodeProxyRequest(b('GET http://a/ HTTP/1.1\r\nHost: a\r\n')), NEED_MORE);
  throwsCode(() => decodeProxyRequest(b('GET http://a/ HTTP/2.0\r\n\r\n')), 'HTTP_BAD_REQUEST_LINE');
  throwsCode(() => decodeProxyRequest(b('GET http://a/ HTTP/1.1\r\nX: a\rb\r\n\r\n')), 'HTTP_BAD_HEADER');
});

test('the forwarded head: origin-form, Host from the URI, hop-by-hop and proxy headers gone, Connection: close', () => {
  const req = decoded(
    'POST http://example.com:8080/up HTTP/1.1\r\nHost: wrong.example\r\nProxy-Authorization: Basic YTpi\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 3\r\nX-Folded: a\r\n  b\r\n\r\n',
  );
  assert.equal(
    encodeOriginRequest(req).toString('latin1'),
    'POST /up HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 3\r\nX-Folded: a\r\n  b\r\nConnection: close\r\n\r\n',
  );
  throwsCode(() => encodeOriginRequest(decoded('CONNECT a:1 HTTP/1.1\r\n\r\n')), 'HTTP_BAD_TARGET');
});

test('Basic credentials: user and password split at the first colon; other schemes are not ours', () => {
  assert.deepEqual(decodeBasicCredentials(`Basic ${Buffer.from('alice:pa:ss').toString('base64')}`), { username: 'alice', password: 'pa:ss' });
  assert.deepEqual(decodeBasicCredentials(`basic ${Buffer.from('bob:').toString('base64')}`), { username: 'bob', password: '' });
  assert.equal(decodeBasicCredentials('Bearer abcdef'), undefined);
  throwsCode(() => decodeBasicCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`), 'HTTP_BAD_CREDENTIALS');
  throwsCode(() => decodeBasicCredentials('Basic !!'), 'HTTP_BAD_CREDENTIALS');
  throwsCode(() => decodeBasicCredentials(`Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`), 'HTTP_BAD_CREDENTIALS');
});

test('the proxy\'s responses: 200 opens the tunnel bare, the others close with an empty body', () => {
  assert.equal(encodeProxyResponse(200).toString(), 'HTTP/1.1 200 Connection established\r\n\r\n');
  assert.equal(
    encodeProxyResponse(407, { 'Proxy-Authenticate': 'Basic realm="socksgate"' }).toString(),
    'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="socksgate"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
  );
  throwsCode(() => encodeProxyResponse(418), 'HTTP_BAD_STATUS');
});
