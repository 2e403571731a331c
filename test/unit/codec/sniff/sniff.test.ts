import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEED_MORE } from '../../../../src/core/need-more.js';
import { sniffHttpHost } from '../../../../src/codec/sniff/http-host.js';
import { sniffHost } from '../../../../src/codec/sniff/index.js';
import { sniffTlsSni } from '../../../../src/codec/sniff/tls-sni.js';
import { captureClientHello } from '../../../helpers/client-hello.js';

test('TLS: the SNI of a real ClientHello; every shorter prefix needs more', async () => {
  const hello = await captureClientHello('Web.Lab.Test');
  assert.equal(sniffTlsSni(hello), 'web.lab.test');
  for (let n = 0; n < hello.length; n++) assert.equal(sniffTlsSni(hello.subarray(0, n)), NEED_MORE, `prefix of ${n}`);
  assert.equal(sniffTlsSni(Buffer.concat([hello, Buffer.from('trailing')])), 'web.lab.test');
});

test('TLS: no SNI, an IP literal, or not TLS at all: no name', async () => {
  assert.equal(sniffTlsSni(await captureClientHello()), undefined);
  assert.equal(sniffTlsSni(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')), undefined);
  assert.equal(sniffTlsSni(Buffer.from([0x16, 0x01])), undefined, 'not a TLS version');
  assert.equal(sniffTlsSni(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02])), undefined, 'not a ClientHello');
});

test('TLS: lengths that run past their container give no name instead of garbage', async () => {
  const hello = Buffer.from(await captureClientHello('web.lab.test'));
  const broken = Buffer.from(hello);
  broken.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + hello[5 + 4 + 2 + 32] ); // cipher_suites length
  assert.equal(sniffTlsSni(broken), undefined);
});

test('HTTP/1: the Host header, without its port; case and spacing tolerated', () => {
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/1.1\r\nhost:  Web.Lab.Test:8080 \r\nAccept: */*\r\n\r\n')), 'web.lab.test');
  assert.equal(sniffHttpHost(Buffer.from('POST /x HTTP/1.0\r\nHost: web.lab.test\r\n\r\nbody')), 'web.lab.test');
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/1.1\r\nHost: 198.51.100.2\r\n\r\n')), undefined, 'an IP is not a name');
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n')), undefined);
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/1.1\r\nAccept: */*\r\n\r\n')), undefined, 'no Host');
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/1.1\r\nHost: bad_host!\r\n\r\n')), undefined);
});

test('HTTP/1: a valid prefix needs more; anything else is decided at once', () => {
  assert.equal(sniffHttpHost(Buffer.from('GE')), NEED_MORE);
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/1.1\r\nHost: a')), NEED_MORE);
  assert.equal(sniffHttpHost(Buffer.from('SSH-2.0')), undefined);
  assert.equal(sniffHttpHost(Buffer.from('get / HTTP/1.1\r\n\r\n')), undefined);
  assert.equal(sniffHttpHost(Buffer.from('GET / HTTP/2\r\nHost: a.test\r\n\r\n')), undefined);
  assert.equal(sniffHttpHost(Buffer.from('GET /' + 'x'.repeat(9000))), undefined, 'a head over 8 KiB is not waited for');
});

test('sniffHost asks both sniffers', async () => {
  assert.equal(sniffHost(await captureClientHello('tls.test')), 'tls.test');
  assert.equal(sniffHost(Buffer.from('GET / HTTP/1.1\r\nHost: http.test\r\n\r\n')), 'http.test');
  assert.equal(sniffHost(Buffer.alloc(0)), NEED_MORE);
  assert.equal(sniffHost(Buffer.from('\x00\x01')), undefined);
});
