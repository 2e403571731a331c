import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sniffClientHost, takeClientFirstBytes } from '../../../src/relay/sniff-client.js';
import { readAll, socketPair } from '../../helpers/socket-pair.js';

test('the sniffed bytes stay in the socket: whoever reads next gets every byte', async () => {
  const [app, daemonSide] = await socketPair();
  daemonSide.pause();
  const request = 'GET / HTTP/1.1\r\nHost: web.lab.test\r\n\r\nand a body';
  app.write(request.slice(0, 10));
  setTimeout(() => app.end(request.slice(10)), 20);
  assert.equal(await sniffClientHost(daemonSide, 5_000), 'web.lab.test');
  assert.equal((await readAll(daemonSide)).toString(), request);
  app.destroy();
  daemonSide.destroy();
});

test('a client that sends nothing is waited for no longer than the bound', async () => {
  const [app, daemonSide] = await socketPair();
  daemonSide.pause();
  const startedAt = Date.now();
  assert.equal(await sniffClientHost(daemonSide, 50), undefined);
  assert.ok(Date.now() - startedAt < 5_000);
  app.end('late bytes');
  assert.equal((await readAll(daemonSide)).toString(), 'late bytes');
  app.destroy();
  daemonSide.destroy();
});

test('a prefix cut short by EOF is put back, so the end still comes after the bytes', async () => {
  const [app, daemonSide] = await socketPair();
  daemonSide.pause();
  app.end('GE');
  assert.equal(await sniffClientHost(daemonSide, 5_000), undefined);
  assert.equal((await readAll(daemonSide)).toString(), 'GE');
  app.destroy();
  daemonSide.destroy();
});

test('bytes of another protocol end the wait at once', async () => {
  const [app, daemonSide] = await socketPair();
  daemonSide.pause();
  app.write('SSH-2.0-OpenSSH_9.2\r\n');
  assert.equal(await sniffClientHost(daemonSide, 60_000), undefined);
  app.end();
  assert.equal((await readAll(daemonSide)).toString(), 'SSH-2.0-OpenSSH_9.2\r\n');
  app.destroy();
  daemonSide.destroy();
});

test('takeClientFirstBytes takes what the client sent out of the socket, and waits only when nothing is there', async () => {
  const [app, daemonSide] = await socketPair();
  daemonSide.pause();
  app.write('GET / HTTP/1.1\r\n');
  assert.equal((await takeClientFirstBytes(daemonSide, 60_000))?.toString(), 'GET / HTTP/1.1\r\n');
  app.end('rest');
  assert.equal((await readAll(daemonSide)).toString(), 'rest', 'taken bytes are not read again');
  app.destroy();
  daemonSide.destroy();
});

test('takeClientFirstBytes: a silent client (server speaks first) is left alone after the wait', async () => {
  const [app, daemonSide] = await socketPair();
  daemonSide.pause();
  assert.equal(await takeClientFirstBytes(daemonSide, 30), undefined);
  app.end('late bytes');
  assert.equal((await readAll(daemonSide)).toString(), 'late bytes');
  app.destroy();
  daemonSide.destroy();
});
