// NativeDial (src/native/tcp-dial.c/.ts) on loopback: a client net.Socket connects to an acceptTcp
// listener, the accepted fd goes into NativeDial, and an in-test net.Server plays the proxy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { releaseMemory } from '../../../src/native/index.js';
import { SpliceOutcome, type SpliceResult } from '../../../src/native/splice.js';
import { DialFailure, NativeDial, NO_CLIENT, type NativeDialEvents, type NativeDialOptions } from '../../../src/native/tcp-dial.js';
import { acceptedPair, clientEnd, closedPort } from '../../helpers/native-accept.js';

const T = { timeout: 10_000 };
const ECONNREFUSED = 111;
const ETIMEDOUT = 110;
const EMSGSIZE = 90;
const EARLY = { withinMs: 5_000, maxBytesUp: 1024 * 1024 };

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** The proxy: one connection at a time, handed to the test. */
async function fakeProxy(): Promise<{ port: number; next: Promise<net.Socket> }> {
  const server = net.createServer({ allowHalfOpen: true });
  const sockets = new Set<net.Socket>();
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
  });
  let resolve!: (s: net.Socket) => void;
  const next = new Promise<net.Socket>((r) => (resolve = r));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('error', () => {});
    resolve(s);
  });
  return { port: await listen(server), next };
}

function dialOptions(port: number, opening: string, over: Partial<NativeDialOptions> = {}): NativeDialOptions {
  return { server: addrOf('127.0.0.1', port), mark: 0, opening: Buffer.from(opening), connectTimeoutMs: 2_000, handshakeTimeoutMs: 5_000, ...over };
}

/** Reads from `socket` until `n` bytes arrived (a stream may split or merge writes). */
async function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  let got = Buffer.alloc(0);
  while (got.length < n) {
    const chunk = socket.read() as Buffer | null;
    if (chunk) got = Buffer.concat([got, chunk]);
    else await once(socket, 'readable');
  }
  return got;
}

/** Resolves with the first onFailure; fails the test on onData. */
function failureOnly(): { events: NativeDialEvents; failure: Promise<[number, number]> } {
  let resolve!: (f: [number, number]) => void;
  const failure = new Promise<[number, number]>((r) => (resolve = r));
  return {
    failure,
    events: {
      onData: (received) => assert.fail(`unexpected onData ${received.toString('hex')}`),
      onFailure: (kind, errno) => resolve([kind, errno]),
    },
  };
}

test('happy path, step by step: accumulated onData, send, splice with the relay head, echo, half-close', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const proxy = await fakeProxy();
  const extra = Buffer.from('relay-bytes-after-the-reply');
  const seen: string[] = [];
  const failures: [number, number][] = [];
  let step = 0;
  let dial!: NativeDial;
  let done!: (r: SpliceResult) => void;
  const result = new Promise<SpliceResult>((r) => (done = r));
  dial = new NativeDial(fd, dialOptions(proxy.port, 'OPEN'), {
    onData(received) {
      seen.push(received.toString());
      if (step === 0 && received.length >= 2) {
        step = 1;
        dial.send(Buffer.from('MORE'));
      } else if (step === 1 && received.length >= 4 + extra.length) {
        step = 2;
        dial.splice(4, undefined, 0, EARLY, { spliceEnded: done });
      }
    },
    onFailure: (kind, errno) => failures.push([kind, errno]),
  });

  const server = await proxy.next;
  assert.equal(String(await readBytes(server, 4)), 'OPEN');
  server.write('AB');
  assert.equal(String(await readBytes(server, 4)), 'MORE');
  assert.equal(seen.at(-1), 'AB');
  server.write(Buffer.concat([Buffer.from('CD'), extra]));

  // The bytes past the handshake reach the client first, and nothing of the reply.
  assert.deepEqual(await readBytes(client, extra.length), extra);
  assert.equal(step, 2);
  // Every onData had everything from the start.
  for (const s of seen) assert.ok(('AB' + 'CD' + extra.toString()).startsWith(s), `onData saw ${s}`);
  assert.equal(seen.at(-1), 'ABCD' + extra.toString());

  // Both ways now go through the splice relay.
  client.write('ping');
  assert.equal(String(await readBytes(server, 4)), 'ping');
  server.write('pong');
  assert.equal(String(await readBytes(client, 4)), 'pong');

  // Half-close: the client's FIN reaches the server, which can still answer, then ends.
  client.end();
  server.resume();
  await once(server, 'end');
  server.end('bye');
  assert.equal(String(await readBytes(client, 3)), 'bye');
  client.resume();
  await once(client, 'end');

  const r = await result;
  assert.equal(r.outcome, SpliceOutcome.CLOSED);
  assert.equal(r.bytesUp, 4);
  assert.equal(r.bytesDown, extra.length + 4 + 3);
  assert.equal(r.code, undefined);
  assert.deepEqual(failures, []);
});

test('an empty opening: onData with no bytes once connected (the server need not speak), bound(), headUp before the client\'s bytes', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const proxy = await fakeProxy();
  const lengths: number[] = [];
  let bound: ReturnType<NativeDial['bound']> | undefined;
  let done!: (r: SpliceResult) => void;
  const result = new Promise<SpliceResult>((r) => (done = r));
  const dial: NativeDial = new NativeDial(fd, dialOptions(proxy.port, ''), {
    onData(received) {
      lengths.push(received.length);
      bound = dial.bound();
      dial.splice(0, Buffer.from('EARLY:'), 0, EARLY, { spliceEnded: done });
    },
    onFailure: (kind, errno) => assert.fail(`unexpected failure ${kind} ${errno}`),
  });
  const server = await proxy.next;
  client.write('late');
  assert.equal(String(await readBytes(server, 10)), 'EARLY:late');
  assert.deepEqual(lengths, [0]);
  assert.deepEqual(bound, addrOf(server.remoteAddress!, server.remotePort!));
  server.end('hello');
  assert.equal(String(await readBytes(client, 5)), 'hello');
  client.end();
  const r = await result;
  assert.equal(r.outcome, SpliceOutcome.CLOSED);
  assert.equal(r.bytesUp, 10);
  assert.equal(r.bytesDown, 5);
});

test('a refused connect: CONNECT_FAILED with ECONNREFUSED, the client is reset', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const ended = clientEnd(client);
  const { events, failure } = failureOnly();
  new NativeDial(fd, dialOptions(await closedPort(), 'OPEN'), events);
  assert.deepEqual(await failure, [DialFailure.CONNECT_FAILED, ECONNREFUSED]);
  assert.equal(await ended, 'reset');
});

test('a server that closes without answering: EOF', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const ended = clientEnd(client);
  const proxy = await fakeProxy();
  const { events, failure } = failureOnly();
  new NativeDial(fd, dialOptions(proxy.port, 'OPEN'), events);
  const server = await proxy.next;
  assert.equal(String(await readBytes(server, 4)), 'OPEN');
  server.end();
  assert.deepEqual(await failure, [DialFailure.EOF, 0]);
  assert.equal(await ended, 'reset');
});

test('a silent server: HANDSHAKE_TIMEOUT', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const ended = clientEnd(client);
  const proxy = await fakeProxy();
  const { events, failure } = failureOnly();
  new NativeDial(fd, dialOptions(proxy.port, 'OPEN', { handshakeTimeoutMs: 200 }), events);
  const server = await proxy.next;
  assert.equal(String(await readBytes(server, 4)), 'OPEN');
  assert.deepEqual(await failure, [DialFailure.HANDSHAKE_TIMEOUT, ETIMEDOUT]);
  assert.equal(await ended, 'reset');
  // The upstream is closed too.
  server.resume();
  await once(server, 'end');
});

test('abort() inside onData resets the client, closes the upstream, and nothing follows; abort twice is harmless', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const ended = clientEnd(client);
  const proxy = await fakeProxy();
  const events: string[] = [];
  const dial: NativeDial = new NativeDial(fd, dialOptions(proxy.port, 'OPEN'), {
    onData(received) {
      events.push(`data ${received.toString()}`);
      dial.abort();
      dial.abort();
    },
    onFailure: (kind, errno) => events.push(`failure ${kind} ${errno}`),
  });
  const server = await proxy.next;
  assert.equal(String(await readBytes(server, 4)), 'OPEN');
  server.write('x');
  assert.equal(await ended, 'reset');
  server.resume();
  await once(server, 'end');
  // The server's further bytes go nowhere and no timer fires: wait past a short handshake timeout's worth.
  server.write('more');
  await new Promise((resolve) => setTimeout(resolve, 100));
  dial.abort();
  assert.deepEqual(events, ['data x']);
  assert.throws(() => dial.splice(0, undefined, 0, EARLY, { spliceEnded: () => {} }), { code: 'SG_ERR_DIAL_STATE' });
  dial.send(Buffer.from('ignored')); // a no-op once over
});

test('more than 16 KiB without the handshake completing: SOCKET_ERROR with EMSGSIZE', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const ended = clientEnd(client);
  const proxy = await fakeProxy();
  let largest = 0;
  let resolve!: (f: [number, number]) => void;
  const failure = new Promise<[number, number]>((r) => (resolve = r));
  new NativeDial(fd, dialOptions(proxy.port, 'OPEN'), {
    onData: (received) => (largest = Math.max(largest, received.length)),
    onFailure: (kind, errno) => resolve([kind, errno]),
  });
  const server = await proxy.next;
  assert.equal(String(await readBytes(server, 4)), 'OPEN');
  server.write(Buffer.alloc(20_000, 0x41));
  assert.deepEqual(await failure, [DialFailure.SOCKET_ERROR, EMSGSIZE]);
  assert.equal(largest, 16_384);
  assert.equal(await ended, 'reset');
});

test('splice with a consumed count past what arrived throws; the dial can still be aborted', T, async () => {
  const { client, accepted: { fd } } = await acceptedPair(cleanups, { allowHalfOpen: true });
  const proxy = await fakeProxy();
  const outcome = new Promise<unknown>((resolve) => {
    const dial: NativeDial = new NativeDial(fd, dialOptions(proxy.port, 'OPEN'), {
      onData(received) {
        try {
          dial.splice(received.length + 1, undefined, 0, EARLY, { spliceEnded: () => {} });
          resolve('spliced');
        } catch (err) {
          dial.abort();
          resolve(err);
        }
      },
      onFailure: () => resolve('failure'),
    });
  });
  const ended = clientEnd(client);
  const server = await proxy.next;
  await readBytes(server, 4);
  server.write('AB');
  assert.equal((await outcome as NodeJS.ErrnoException).code, 'ERR_INVALID_ARG_TYPE');
  assert.equal(await ended, 'reset');
});

test('a failed dial lets go of its callbacks, so nothing of its flow stays reachable', T, async () => {
  let collected = false;
  const registry = new FinalizationRegistry(() => (collected = true));
  const { accepted: { fd } } = await acceptedPair(cleanups);
  const port = await closedPort();
  await (async () => {
    const { events, failure } = failureOnly();
    registry.register(events, 'events');
    new NativeDial(fd, dialOptions(port, 'OPEN'), events);
    assert.equal((await failure)[0], DialFailure.CONNECT_FAILED);
  })();
  for (let i = 0; i < 50 && !collected; i++) {
    releaseMemory(); // full collections
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(collected, 'the addon still holds the onEvent callback of a failed dial');
});

test('a dial with no client (the daemon\'s own): replies are judged, it cannot splice, abort and failures close only the upstream', T, async () => {
  const proxy = await fakeProxy();
  const received: string[] = [];
  let dial!: NativeDial;
  const gotReply = new Promise<void>((resolve) => {
    dial = new NativeDial(NO_CLIENT, dialOptions(proxy.port, 'hello'), {
      onData(bytes) {
        received.push(bytes.toString());
        assert.throws(() => dial.splice(bytes.length, undefined, 0, EARLY, { spliceEnded: () => assert.fail('no relay') }), { code: 'SG_ERR_DIAL_STATE' });
        dial.abort();
        resolve();
      },
      onFailure: (kind) => assert.fail(`unexpected failure ${kind}`),
    });
  });
  const server = await proxy.next;
  assert.equal((await readBytes(server, 5)).toString(), 'hello');
  server.write('reply');
  await gotReply;
  assert.deepEqual(received, ['reply']);
  server.resume();
  await once(server, 'end');

  const { events, failure } = failureOnly();
  new NativeDial(NO_CLIENT, dialOptions(await closedPort(), 'x'), events);
  assert.deepEqual(await failure, [DialFailure.CONNECT_FAILED, ECONNREFUSED]);
});
