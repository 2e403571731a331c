// The addon's UDP half on loopback in the current namespace: no firewall rules, no routes.
// IP_ORIGDSTADDR is reported for every datagram, diverted or not, so a plain send to the listener
// exercises the whole receive path. Transparent sockets need CAP_NET_ADMIN/CAP_NET_RAW (root here).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import { test } from 'node:test';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { encodeSockaddr } from '../../../src/codec/sockaddr.js';
import { isSyscallError, listenUdpTransparent, nativeBinding, openUdpSocket, type TransparentDatagram } from '../../../src/native/index.js';

const T = { timeout: 10_000 };

/** A free UDP port on `host` (bound then released). */
async function freePort(host: string): Promise<number> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.bind(0, host);
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

function collect(at: SocksAddr, headroom: number) {
  const got: TransparentDatagram[] = [];
  const errors: Error[] = [];
  let wake: (() => void) | undefined;
  const listener = listenUdpTransparent(at, { headroom }, (batch) => {
    got.push(...batch);
    wake?.();
  }, (err) => errors.push(err));
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 5_000;
    while (got.length < n) {
      assert.ok(Date.now() < deadline, `only ${got.length} of ${n} datagrams arrived`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
  };
  return { got, errors, listener, waitFor };
}

test('udpListen on [::] delivers IPv4 and IPv6 datagrams with headroom, client and original destination', T, async () => {
  const port = await freePort('::');
  const { got, errors, listener, waitFor } = collect({ kind: 'ipv6', host: '::', port }, 262);
  const c4 = dgram.createSocket('udp4');
  const c6 = dgram.createSocket('udp6');
  try {
    c4.send(Buffer.from('hello v4'), port, '127.0.0.1');
    c6.send(Buffer.from('hello v6'), port, '::1');
    c4.send(Buffer.alloc(0), port, '127.0.0.1');
    await waitFor(3);
    const v4 = got.find((d) => d.data.subarray(262).toString() === 'hello v4')!;
    assert.equal(v4.data.length, 262 + 8);
    assert.deepEqual(v4.src, addrOf('127.0.0.1', c4.address().port));
    assert.deepEqual(v4.dst, { kind: 'ipv4', host: '127.0.0.1', port });
    const v6 = got.find((d) => d.data.subarray(262).toString() === 'hello v6')!;
    assert.deepEqual(v6.src, { kind: 'ipv6', host: '::1', port: c6.address().port });
    assert.deepEqual(v6.dst, { kind: 'ipv6', host: '::1', port });
    assert.ok(got.some((d) => d.data.length === 262), 'an empty datagram is delivered as headroom only');
    assert.deepEqual(errors, []);
  } finally {
    listener.close();
    listener.close();
    c4.close();
    c6.close();
  }
});

test('udpListen batches a burst and keeps every datagram intact', T, async () => {
  const port = await freePort('127.0.0.1');
  const { got, listener, waitFor } = collect({ kind: 'ipv4', host: '127.0.0.1', port }, 0);
  const client = dgram.createSocket('udp4');
  try {
    const sizes = [1, 1400, 65507, ...Array.from({ length: 60 }, (_, i) => i * 7 + 3)];
    for (const [i, size] of sizes.entries()) client.send(Buffer.alloc(size, i), port, '127.0.0.1');
    await waitFor(sizes.length);
    for (const [i, size] of sizes.entries()) {
      const d = got[i];
      assert.equal(d.data.length, size);
      assert.ok(d.data.every((b) => b === (i & 0xff)));
    }
  } finally {
    listener.close();
    client.close();
  }
});

test('closing the listener stops polling and closes its socket', T, async () => {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const port = await freePort('127.0.0.1');
  await new Promise((r) => setTimeout(r, 20)); // freePort's own socket closes asynchronously
  const before = fds();
  const first = collect({ kind: 'ipv4', host: '127.0.0.1', port }, 0);
  assert.equal(fds(), before + 1);
  first.listener.close();
  await new Promise((r) => setTimeout(r, 20)); // libuv closes the fd in its close callback
  assert.equal(fds(), before);
  const client = dgram.createSocket('udp4');
  client.send(Buffer.from('late'), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(first.got.length, 0);
  client.close();
});

test('an exception thrown by the batch callback is an uncaught exception, and polling goes on', T, async () => {
  const port = await freePort('127.0.0.1');
  let calls = 0;
  const listener = listenUdpTransparent({ kind: 'ipv4', host: '127.0.0.1', port }, { headroom: 0 }, () => {
    calls++;
    throw new Error('boom from the callback');
  }, () => {});
  const seen: Error[] = [];
  const onUncaught = (err: Error) => seen.push(err);
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  const client = dgram.createSocket('udp4');
  try {
    client.send(Buffer.from('1'), port, '127.0.0.1');
    for (let i = 0; i < 50 && calls < 1; i++) await new Promise((r) => setTimeout(r, 20));
    client.send(Buffer.from('2'), port, '127.0.0.1');
    for (let i = 0; i < 50 && calls < 2; i++) await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const l of listeners) process.on('uncaughtException', l);
    listener.close();
    client.close();
  }
  assert.equal(calls, 2);
  assert.deepEqual(seen.map((e) => e.message), ['boom from the callback', 'boom from the callback']);
});

test('udp errors carry code, errno and syscall', async () => {
  const holder = dgram.createSocket('udp4'); // no SO_REUSEADDR: nobody may share its port
  holder.bind(0, '127.0.0.1');
  await once(holder, 'listening');
  const port = holder.address().port;
  try {
    assert.throws(
      () => nativeBinding().udpListen(encodeSockaddr({ kind: 'ipv4', host: '127.0.0.1', port }), { headroom: 0, v6only: false }, () => {}),
      (err) => isSyscallError(err) && err.syscall === 'bind' && err.code === 'EADDRINUSE' && err.errno > 0,
    );
  } finally {
    holder.close();
  }
  assert.throws(() => nativeBinding().udpListen(encodeSockaddr({ kind: 'ipv4', host: '127.0.0.1', port }), { headroom: 5000 }, () => {}), RangeError);
  assert.throws(() => nativeBinding().udpListen(encodeSockaddr({ kind: 'ipv4', host: '127.0.0.1', port }), {}, 'nope' as never), TypeError);
  assert.throws(() => nativeBinding().udpListenClose({}), TypeError);
  assert.throws(() => nativeBinding().udpSocket(Buffer.alloc(3), {}), RangeError);
});

test('a transparent reply socket sends with a foreign source address that Node adopted', T, async () => {
  const app = dgram.createSocket('udp4');
  app.bind(0, '127.0.0.1');
  await once(app, 'listening');
  const remote: SocksAddr = { kind: 'ipv4', host: '203.0.113.9', port: 53 };
  const reply = openUdpSocket(remote, { transparent: true, reuseAddr: true, mark: 2 });
  const again = openUdpSocket(remote, { transparent: true, reuseAddr: true, mark: 2 }); // SO_REUSEADDR: one per client is possible too
  try {
    assert.deepEqual({ address: reply.address().address, port: reply.address().port }, { address: '203.0.113.9', port: 53 });
    const received = once(app, 'message');
    reply.send(Buffer.from('answer'), app.address().port, '127.0.0.1');
    const [msg, rinfo] = (await received) as [Buffer, dgram.RemoteInfo];
    assert.equal(msg.toString(), 'answer');
    assert.equal(`${rinfo.address}:${rinfo.port}`, '203.0.113.9:53');
  } finally {
    reply.close();
    again.close();
    app.close();
  }
  assert.throws(() => openUdpSocket({ kind: 'ipv4', host: '203.0.113.9', port: 53 }, { transparent: false }), (err) => isSyscallError(err) && err.code === 'EADDRNOTAVAIL');
});

test('a marked wildcard UDP socket is bound to an ephemeral port', T, async () => {
  const s = openUdpSocket({ kind: 'ipv6', host: '::', port: 0 }, { mark: 2 });
  assert.ok(s.address().port > 0);
  s.close();
});
