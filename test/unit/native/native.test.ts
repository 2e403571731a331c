// src/native on loopback in the current namespace: no firewall rules, no routes. Tests that set
// SO_MARK need root (or CAP_NET_ADMIN/CAP_NET_RAW) and are skipped otherwise; the mark on the SYN
// itself and REDIRECT are proven in test/e2e/native-redirect.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import {
  dialMarked,
  isSyscallError,
  listenTcp,
  nativeBinding,
  originalDestination,
  raiseFileLimit,
  socketFd,
} from '../../../src/native/index.js';
import { encodeSockaddr } from '../../../src/codec/sockaddr.js';

const root = process.getuid?.() === 0;
const T = { timeout: 10_000 };

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function echoServer(): net.Server {
  const server = net.createServer((sock) => sock.on('data', (d) => sock.write(d)).on('error', () => {}));
  servers.push(server);
  return server;
}

function port(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

/** A loopback port nobody listens on (bound then released). */
async function closedPort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const p = port(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

function assertSyscallError(err: unknown, code: string, syscall: string | RegExp): void {
  assert.ok(isSyscallError(err), `expected a syscall error, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.equal(typeof err.errno, 'number');
  if (typeof syscall === 'string') assert.equal(err.syscall, syscall);
  else assert.match(err.syscall, syscall);
}

/** Resolves with the socket once 'connect' fired and the echo of `payload` (written before connect) came back. */
function exchange(sock: net.Socket, payload: string): Promise<{ connected: boolean; echoed: string }> {
  return new Promise((resolve, reject) => {
    let connected = false;
    sock.write(payload);
    sock.once('connect', () => (connected = true));
    sock.once('data', (d) => resolve({ connected, echoed: String(d) }));
    sock.once('error', reject);
  });
}

function nextError(sock: net.Socket): Promise<Error> {
  return new Promise((resolve, reject) => {
    sock.once('error', resolve);
    sock.once('connect', () => reject(new Error('connected, expected an error')));
  });
}

test('listenTcp on 127.0.0.1:0 accepts connections', T, async () => {
  const server = echoServer();
  await listenTcp(server, addrOf('127.0.0.1', 0), { backlog: 8, reusePort: true });
  assert.equal(server.listening, true);
  const a = server.address() as net.AddressInfo;
  assert.equal(a.address, '127.0.0.1');
  assert.ok(a.port > 0);
  const client = net.connect(a.port, '127.0.0.1');
  assert.deepEqual(await exchange(client, 'hi'), { connected: true, echoed: 'hi' });
  client.destroy();
});

test('listenTcp on [::1]:0 (IPv6, v6only) accepts connections', T, async () => {
  const server = echoServer();
  await listenTcp(server, addrOf('::1', 0), { v6only: true });
  const client = net.connect(port(server), '::1');
  assert.deepEqual(await exchange(client, 'v6'), { connected: true, echoed: 'v6' });
  client.destroy();
});

test('listenTcp rejects with the addon error when bind fails (EADDRINUSE)', T, async () => {
  const first = echoServer();
  await listenTcp(first, addrOf('127.0.0.1', 0));
  const err = await listenTcp(net.createServer(), addrOf('127.0.0.1', port(first))).then(
    () => assert.fail('second bind succeeded'),
    (e: unknown) => e,
  );
  assertSyscallError(err, 'EADDRINUSE', 'bind');
});

test('listenTcp refuses domain names and already-listening servers', T, async () => {
  await assert.rejects(listenTcp(net.createServer(), addrOf('localhost', 0)), { code: 'ERR_INVALID_ARG_VALUE' });
  const server = echoServer();
  await listenTcp(server, addrOf('127.0.0.1', 0));
  await assert.rejects(listenTcp(server, addrOf('127.0.0.1', 0)), { code: 'ERR_SERVER_ALREADY_LISTEN' });
});

test('dialMarked with mark 0 connects, delivers a write issued before connect, fills addresses', T, async () => {
  const server = echoServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sock = dialMarked({ host: '127.0.0.1', port: port(server) }, 0);
  assert.equal(sock.connecting, true);
  assert.deepEqual(await exchange(sock, 'before-connect'), { connected: true, echoed: 'before-connect' });
  assert.equal(sock.remoteAddress, '127.0.0.1');
  assert.equal(sock.remotePort, port(server));
  assert.equal(sock.localAddress, '127.0.0.1');
  assert.ok(sock.localPort! > 0);
  assert.ok(socketFd(sock) >= 0);
  sock.destroy();
});

test('dialMarked over IPv6 loopback', T, async () => {
  const server = echoServer();
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  const sock = dialMarked({ host: '::1', port: port(server) }, 0);
  assert.deepEqual(await exchange(sock, 'six'), { connected: true, echoed: 'six' });
  assert.equal(sock.remoteAddress, '::1');
  sock.destroy();
});

test('dialMarked with mark 2 exchanges data (needs root for SO_MARK)', { ...T, skip: !root && 'not root' }, async () => {
  const server = echoServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sock = dialMarked({ host: '127.0.0.1', port: port(server) }, 2);
  assert.deepEqual(await exchange(sock, 'marked'), { connected: true, echoed: 'marked' });
  sock.destroy();
});

test('dialMarked with mark 2 to a closed port: ECONNREFUSED as an error event', { ...T, skip: !root && 'not root' }, async () => {
  const p = await closedPort('127.0.0.1');
  const sock = dialMarked({ host: '127.0.0.1', port: p }, 2);
  const closed = new Promise((resolve) => sock.once('close', resolve));
  const err = await nextError(sock);
  assertSyscallError(err, 'ECONNREFUSED', 'connect');
  assert.equal(sock.destroyed, true);
  await closed;
});

test('without privilege SO_MARK fails with EPERM from setsockopt(SO_MARK)', T, () => {
  if (!root) {
    assert.throws(() => dialMarked({ host: '127.0.0.1', port: 9 }, 2), (e: unknown) => {
      assertSyscallError(e, 'EPERM', 'setsockopt(SO_MARK)');
      return true;
    });
    return;
  }
  // As root, ask the addon from a child that has dropped to nobody with no capabilities.
  const addon = new URL('../../../build/Release/socksgate_native.node', import.meta.url).pathname;
  const script = `try { require(${JSON.stringify(addon)}).tcpSocket(4, 2); console.log('no error') } catch (e) { console.log(e.code, e.syscall) }`;
  const child = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '-e', script], { encoding: 'utf8' });
  assert.equal(child.stdout.trim(), 'EPERM setsockopt(SO_MARK)', child.stderr);
});

test('dialMarked validates its arguments before making a socket', () => {
  assert.throws(() => dialMarked({ host: 'localhost', port: 80 }, 0), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => dialMarked({ host: '127.0.0.1', port: 0 }, 0), { code: 'ERR_SOCKET_BAD_PORT' });
  assert.throws(() => dialMarked({ host: '127.0.0.1', port: 70000 }, 0), { code: 'ERR_SOCKET_BAD_PORT' });
  assert.throws(() => dialMarked({ host: '127.0.0.1', port: 80 }, -1), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => dialMarked({ host: '127.0.0.1', port: 80 }, 2 ** 32), { code: 'ERR_OUT_OF_RANGE' });
});

test('originalDestination on a connection that was not NATed', T, async () => {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port(server), '127.0.0.1');
  const sock = await accepted;
  try {
    // Without conntrack in this namespace the kernel has no entry: ENOENT. Where conntrack is
    // active (any nat rule loaded) but the flow was not NATed, it reports the listener itself.
    const dst = originalDestination(sock);
    assert.deepEqual(dst, { kind: 'ipv4', host: '127.0.0.1', port: port(server) });
  } catch (err) {
    assertSyscallError(err, 'ENOENT', 'getsockopt(SO_ORIGINAL_DST)');
    assert.match((err as Error).message, /getsockopt\(SO_ORIGINAL_DST\) ENOENT/);
  } finally {
    client.destroy();
    sock.destroy();
  }
});

test('originalDestination on a closed socket says it has no fd', T, async () => {
  const server = echoServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect(port(server), '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  client.destroy();
  assert.throws(() => originalDestination(client), { code: 'SG_ERR_NO_FD' });
});

test('addon errors carry code, errno and syscall', () => {
  const n = nativeBinding();
  const notSocket = fs.openSync('/dev/null', 'r');
  try {
    assert.throws(() => n.originalDst(notSocket, false), (e: unknown) => {
      assertSyscallError(e, 'ENOTSOCK', 'getsockopt(SO_ORIGINAL_DST)');
      assert.ok(e instanceof Error);
      assert.match((e as Error).message, /^getsockopt\(SO_ORIGINAL_DST\) ENOTSOCK \(/);
      return true;
    });
  } finally {
    fs.closeSync(notSocket);
  }
  // An address that is not ours: bind fails, the fd is closed again.
  assert.throws(() => n.tcpListen(encodeSockaddr(addrOf('192.0.2.1', 0)), { transparent: false, reusePort: false, backlog: 1 }), (e: unknown) => {
    assertSyscallError(e, 'EADDRNOTAVAIL', 'bind');
    return true;
  });
  assert.throws(() => n.closeFd(2 ** 30), (e: unknown) => {
    assertSyscallError(e, 'EBADF', 'close');
    return true;
  });
});

test('addon argument checks throw TypeError/RangeError, not syscall errors', () => {
  const n = nativeBinding();
  assert.throws(() => n.originalDst('3' as unknown as number, false), TypeError);
  assert.throws(() => n.originalDst(-1, false), RangeError);
  assert.throws(() => n.tcpSocket(5 as 4, 0), RangeError);
  assert.throws(() => n.tcpListen(Buffer.alloc(3), {}), RangeError);
  assert.throws(() => n.tcpListen(encodeSockaddr(addrOf('127.0.0.1', 0)).subarray(0, 8), {}), RangeError);
  assert.throws(() => n.tcpListen(encodeSockaddr(addrOf('127.0.0.1', 0)), { backlog: 'x' as unknown as number }), TypeError);
  assert.throws(() => n.tcpConnect(encodeSockaddr(addrOf('127.0.0.1', 1)), 1.5), RangeError);
});

test('tcpConnect starts a nonblocking connect and returns the fd', T, async () => {
  const server = echoServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const fd = nativeBinding().tcpConnect(encodeSockaddr(addrOf('127.0.0.1', port(server))), 0);
  assert.ok(fd > 2);
  const peer = await accepted;
  nativeBinding().closeFd(fd);
  await new Promise((resolve) => peer.once('close', resolve));
});

test('raiseFileLimit returns the soft limit, now equal to the hard limit', () => {
  const soft = raiseFileLimit();
  assert.ok(soft > 0);
  assert.equal(soft, nativeBinding().raiseNofile().hard);
});

test('listenTcp transparent: binds a non-local address as root, EPERM otherwise', T, async () => {
  const server = net.createServer();
  servers.push(server);
  const at = addrOf('203.0.113.9', 0); // TEST-NET-3: never a local address here
  if (root) {
    await listenTcp(server, at, { transparent: true });
    assert.equal((server.address() as net.AddressInfo).address, '203.0.113.9');
  } else {
    await assert.rejects(listenTcp(server, at, { transparent: true }), (e: unknown) => {
      assertSyscallError(e, 'EPERM', 'setsockopt(IP_TRANSPARENT)');
      return true;
    });
  }
  // Without IP_TRANSPARENT the same bind is refused.
  await assert.rejects(listenTcp(net.createServer(), at), (e: unknown) => {
    assertSyscallError(e, 'EADDRNOTAVAIL', 'bind');
    return true;
  });
});

test('failed addon calls leave no fd behind', () => {
  const n = nativeBinding();
  const count = (): number => fs.readdirSync('/proc/self/fd').length;
  const before = count();
  for (let i = 0; i < 50; i++) {
    assert.throws(() => n.tcpListen(encodeSockaddr(addrOf('192.0.2.1', 0)), {}));
    // TCP to a multicast address fails inside connect() itself (ENETUNREACH).
    assert.throws(() => n.tcpConnect(encodeSockaddr(addrOf('224.0.0.1', 80)), 0), { code: 'ENETUNREACH', syscall: 'connect' });
  }
  assert.equal(count(), before);
});
