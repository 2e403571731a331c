// acceptTcp (src/native/tcp-accept.c/.ts) on loopback: no NAT, no firewall rules.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { isSyscallError, listenTcpFd, nativeBinding } from '../../../src/native/index.js';
import { acceptTcp, type AcceptedFd, type DestinationSource, type TcpAcceptor } from '../../../src/native/tcp-accept.js';
import { closedPort } from '../../helpers/native-accept.js';

const T = { timeout: 10_000 };

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Acceptor {
  acceptor: TcpAcceptor;
  port: number;
  /** The next accepted connection (in arrival order). */
  next(): Promise<AcceptedFd>;
  errors: Error[];
}

async function startAcceptor(host: string, destination: DestinationSource): Promise<Acceptor> {
  const port = await closedPort(host);
  const listenFd = listenTcpFd(addrOf(host, port), { v6only: host.includes(':') });
  const queue: AcceptedFd[] = [];
  const waiting: ((c: AcceptedFd) => void)[] = [];
  const errors: Error[] = [];
  const acceptor = acceptTcp(
    listenFd,
    destination,
    (conn) => {
      const w = waiting.shift();
      if (w) w(conn);
      else queue.push(conn);
    },
    (err) => errors.push(err),
  );
  cleanups.push(() => {
    acceptor.close();
    for (const c of queue.splice(0)) nativeBinding().closeFd(c.fd);
  });
  return {
    acceptor,
    port,
    errors,
    next: () => {
      const c = queue.shift();
      return c ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

async function connect(host: string, port: number): Promise<net.Socket> {
  const client = net.connect(port, host);
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  await once(client, 'connect');
  return client;
}

for (const [host, kind, originalDst] of [
  ['127.0.0.1', 'ipv4', 'getsockopt(SO_ORIGINAL_DST)'],
  ['::1', 'ipv6', 'getsockopt(IP6T_SO_ORIGINAL_DST)'],
] as const) {
  test(`${kind} 'local': the fd, the client's address as src and the listener's as dst`, T, async () => {
    const a = await startAcceptor(host, 'local');
    const client = await connect(host, a.port);
    const conn = await a.next();
    try {
      assert.ok(conn.fd >= 0);
      assert.deepEqual(conn.src, { kind, host, port: client.localPort });
      assert.deepEqual(conn.dst, { kind, host, port: a.port });
      assert.deepEqual(a.errors, []);
    } finally {
      nativeBinding().closeFd(conn.fd);
    }
    // The fd really was the connection: closing it ends the client.
    client.resume();
    await once(client, 'close');
  });

  test(`${kind} 'original' on a connection that was not NATed: dst is the kernel's error`, T, async (t) => {
    const a = await startAcceptor(host, 'original');
    const client = await connect(host, a.port);
    const conn = await a.next();
    try {
      assert.deepEqual(conn.src, { kind, host, port: client.localPort });
      if (conn.dst instanceof Error) {
        assert.ok(isSyscallError(conn.dst), `expected a syscall error, got ${String(conn.dst)}`);
        assert.equal(conn.dst.code, 'ENOENT');
        assert.equal(conn.dst.errno, 2);
        assert.equal(conn.dst.syscall, originalDst);
        assert.equal(conn.dst.message, `${originalDst} ENOENT`);
      } else {
        // Where conntrack is active (some nat rule loaded) an un-NATed flow reports the listener
        // itself, as for originalDestination in native.test.ts; the e2e REDIRECT tests cover NAT.
        t.diagnostic('conntrack is active here: the kernel answered with the listener address');
        assert.deepEqual(conn.dst, { kind, host, port: a.port });
      }
    } finally {
      nativeBinding().closeFd(conn.fd);
    }
  });
}

test("'local': several connections, each reported once with its own src", T, async () => {
  const a = await startAcceptor('127.0.0.1', 'local');
  const clients = await Promise.all([connect('127.0.0.1', a.port), connect('127.0.0.1', a.port), connect('127.0.0.1', a.port)]);
  const conns = [await a.next(), await a.next(), await a.next()];
  try {
    assert.deepEqual(
      conns.map((c) => (c.src as { port: number }).port).sort(),
      clients.map((c) => c.localPort).sort(),
    );
    assert.equal(new Set(conns.map((c) => c.fd)).size, 3);
  } finally {
    for (const c of conns) nativeBinding().closeFd(c.fd);
  }
});

test('after close() new connections are refused; close() twice is harmless', T, async () => {
  const a = await startAcceptor('127.0.0.1', 'local');
  await connect('127.0.0.1', a.port);
  nativeBinding().closeFd((await a.next()).fd);
  a.acceptor.close();
  a.acceptor.close();
  const refused = net.connect(a.port, '127.0.0.1');
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  a.acceptor.close();
});

test('close() from inside onAccept stops accepting; the fd in hand is still valid', T, async () => {
  const port = await closedPort('127.0.0.1');
  const listenFd = listenTcpFd(addrOf('127.0.0.1', port));
  let calls = 0;
  let acceptor!: TcpAcceptor;
  const first = new Promise<AcceptedFd>((resolve) => {
    acceptor = acceptTcp(
      listenFd,
      'local',
      (conn) => {
        calls++;
        acceptor.close();
        resolve(conn);
      },
      () => {},
    );
  });
  cleanups.push(() => acceptor.close());
  // Two connections, likely both queued before the acceptor runs its batch: only one is taken.
  const c1 = net.connect(port, '127.0.0.1').on('error', () => {});
  const c2 = net.connect(port, '127.0.0.1').on('error', () => {});
  cleanups.push(() => c1.destroy(), () => c2.destroy());
  // The one not accepted may fail its connect (reset when the listening socket closed).
  await Promise.allSettled([once(c1, 'connect'), once(c2, 'connect')]);
  const conn = await first;
  const mine = [c1, c2].find((c) => c.localPort === (conn.src as { port: number }).port);
  assert.ok(mine, 'src names one of the clients');
  // The fd is still open and connected to that client.
  const sock = new net.Socket({ fd: conn.fd, readable: true, writable: true });
  cleanups.push(() => sock.destroy());
  sock.write('via-fd');
  const [got] = (await once(mine, 'data')) as [Buffer];
  assert.equal(String(got), 'via-fd');
  // The other connection was never accepted: it is reset (the listening socket closed) or left hanging.
  const refused = net.connect(port, '127.0.0.1');
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  assert.equal(calls, 1);
});

// A connection reset while still in the accept queue is handed out by the kernel with no peer
// (getpeername: ENOTCONN); it once reached JS as a zeroed address and threw out of the callback.
test('a connection reset in the accept queue is closed quietly: no call, no exception', T, async () => {
  const port = await closedPort('127.0.0.1');
  const listenFd = listenTcpFd(addrOf('127.0.0.1', port));
  const client = net.connect(port, '127.0.0.1').on('error', () => {});
  await once(client, 'connect');
  client.resetAndDestroy(); // reset before anyone accepted it
  await new Promise((resolve) => setTimeout(resolve, 50));
  const accepted: AcceptedFd[] = [];
  const errors: Error[] = [];
  let thrown: unknown;
  const onUncaught = (err: unknown) => (thrown = err);
  process.prependOnceListener('uncaughtException', onUncaught);
  const acceptor = acceptTcp(listenFd, 'local', (c) => accepted.push(c), (e) => errors.push(e));
  cleanups.push(() => acceptor.close());
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.off('uncaughtException', onUncaught);
  acceptor.close();
  for (const c of accepted) nativeBinding().closeFd(c.fd);
  assert.equal(thrown, undefined, `onAccept threw: ${String(thrown)}`);
  assert.deepEqual([accepted.length, errors.length], [0, 0]);
});
