import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUpstreamUrl, redactUrl } from '../../../src/config/upstream-url.js';

test('parses every scheme with defaults and credentials', () => {
  assert.deepEqual(parseUpstreamUrl('socks5://u%40x:p%3Aw@[2001:db8::1]:1081?pipelining=off'), {
    protocol: 'socks5',
    server: { kind: 'ipv6', host: '2001:db8::1', port: 1081 },
    username: 'u@x',
    password: 'p:w',
    params: { pipelining: 'off' },
  });
  assert.equal(parseUpstreamUrl('socks4a://me@proxy.lab').server.port, 1080);
  assert.equal(parseUpstreamUrl('http://198.51.100.1').server.port, 80);
  assert.equal(parseUpstreamUrl('http://198.51.100.1:3128').server.port, 3128);
});

test('rejects what cannot be a proxy, without echoing the password', () => {
  for (const bad of ['ftp://h:1', 'socks5://:1', 'socks5://h:1/path', 'socks4://u:secretpw@h:1', 'alice:secretpw@host:1080']) {
    assert.throws(() => parseUpstreamUrl(bad), (err: Error) => err instanceof RangeError && !err.message.includes('secretpw'));
  }
});

test('redactUrl hides the whole user info, up to the last "@"', () => {
  assert.equal(redactUrl('socks5://alice:hunter2@h:1080'), 'socks5://***@h:1080');
  assert.equal(redactUrl('socks5://alice@h:1080'), 'socks5://***@h:1080');
  assert.equal(redactUrl('socks5://alice:hun@ter2@h:1080?pipelining=off'), 'socks5://***@h:1080?pipelining=off');
  assert.equal(redactUrl('socks5://alice:hun/ter2@h:1080'), 'socks5://***@h:1080');
  assert.equal(redactUrl('alice:hunter2@h:1080'), '***@h:1080');
  assert.equal(redactUrl('socks5:alice:hunter2@h:1080'), '***@h:1080');
  assert.equal(redactUrl('socks5://h:1080'), 'socks5://h:1080');
  assert.equal(redactUrl('--mark'), '--mark');
});

test('a password with "@", "/", "#", "%" or ":" typed as is: parsed by the last "@", or refused without showing it', () => {
  assert.equal(parseUpstreamUrl('socks5://alice:hun@ter2@192.0.2.1:1080').password, 'hun@ter2');
  assert.equal(parseUpstreamUrl('socks5://alice:hun:ter2@192.0.2.1').password, 'hun:ter2');
  for (const bad of ['socks5://alice:sec/retpw@h:1', 'socks5://alice:sec#retpw@h:1', 'socks5://alice:12#retpw@h', 'socks5://alice:12?name=retpw@h', 'socks5://alice:sec%zzretpw@h:1', 'socks5://alice:sec%retpw@h:1']) {
    assert.throws(
      () => parseUpstreamUrl(bad),
      (err: Error) => err instanceof RangeError && !/sec|retpw/.test(err.message) && err.message.includes('socks5://***@h'),
      bad,
    );
  }
  assert.throws(() => parseUpstreamUrl('socks5://h:1080#frag'), /no #fragment/);
  assert.throws(() => parseUpstreamUrl('socks5://alice:p%zz@h:1080'), /write "%" itself as %25/);
});

test('redaction: a mistyped scheme followed by a password holding "://" hides it all (found by the secrets property)', () => {
  assert.equal(redactUrl('socks5:/a:@://@192.0.2.1'), '***@192.0.2.1');
  assert.equal(redactUrl('socks5://u:a://b@192.0.2.1:1080'), 'socks5://***@192.0.2.1:1080');
});
