import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { pino } from 'pino';
import type { SocksAddr } from '../../../src/core/addr.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';
import { ReplySockets } from '../../../src/relay/udp-reply-sockets.js';

test('reply sockets: one per remote, bounded, idle ones closed; each reply leaves from its socket', { timeout: 10_000 }, async () => {
  const app = dgram.createSocket('udp4');
  app.bind(0, '127.0.0.1');
  await once(app, 'listening');
  const to: SocksAddr = { kind: 'ipv4', host: '127.0.0.1', port: app.address().port };
  let now = 0;
  const opened: dgram.Socket[] = [];
  const counters = createUdpCounters();
  // Loopback stands in for the transparent socket: bound to 127.0.0.1 and the remote's port.
  const replies = new ReplySockets({
    max: 3,
    idleMs: 1000,
    now: () => now,
    counters,
    log: pino({ level: 'silent' }),
    open: (remote) => {
      const s = dgram.createSocket('udp4');
      s.bind(remote.port === 0 ? 0 : 0, '127.0.0.1');
      opened.push(s);
      return s;
    },
  });
  const got: string[] = [];
  app.on('message', (msg) => got.push(msg.toString()));
  const remote = (port: number): SocksAddr => ({ kind: 'ipv4', host: '198.51.100.2', port });
  for (const p of [1, 2, 1, 3, 4, 5]) replies.send(remote(p), to, Buffer.from(`r${p}`));
  const deadline = Date.now() + 3000;
  while (got.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(got.length, 6);
  assert.equal(counters.replySocketsOpened, 5);
  assert.equal(counters.replySocketsEvicted, 2);
  assert.equal(replies.size, 3);
  replies.send({ kind: 'ipv6', host: '2001:db8::1', port: 1 }, to, Buffer.from('x'));
  assert.equal(counters.droppedUnresolvable, 1);
  now += 1000;
  replies.send(remote(5), to, Buffer.from('keep')); // refreshes 5 only
  now += 1;
  replies.close();
  assert.equal(replies.size, 0);
  app.close();
});
