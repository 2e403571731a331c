// A JS callback of the addon that throws (tcpAccept's onAccept, spliceRelay's onDone, tcpDial's
// onEvent): the exception is reported once, as an uncaught exception, where the addon called the
// callback; it is not left pending for an unrelated later addon call to throw, and whatever the
// callback was handed (an accepted fd, a dial) does not leak.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { after, afterEach, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { listenTcpFd, nativeBinding, socketFd } from '../../../src/native/index.js';
import { spliceRelay } from '../../../src/native/splice.js';
import { acceptTcp } from '../../../src/native/tcp-accept.js';
import { NativeDial } from '../../../src/native/tcp-dial.js';
import { acceptedPair, clientEnd, closedPort } from '../../helpers/native-accept.js';
import { socketPair } from '../../helpers/socket-pair.js';

const T = { timeout: 10_000 };

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

/** What reaches the process as uncaught exceptions, captured so that the test runner does not fail on them. */
const uncaught: unknown[] = [];
let uncaughtArrived: (() => void) | undefined;
process.setUncaughtExceptionCaptureCallback((err) => {
  uncaught.push(err);
  uncaughtArrived?.();
});
after(() => process.setUncaughtExceptionCaptureCallback(null));
afterEach(() => {
  uncaught.length = 0;
});

function withDeadline<T>(promise: Promise<T>, what: string, ms = 3_000): Promise<T> {
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function nextUncaught(): Promise<void> {
  return withDeadline(new Promise<void>((resolve) => (uncaughtArrived = resolve)), 'uncaught exception');
}

/** The exception was reported once, and no later addon call throws it again. */
function assertReportedOnce(thrown: Error): void {
  assert.deepEqual(uncaught, [thrown]);
  assert.doesNotThrow(() => nativeBinding().raiseNofile());
}

/** The sockets open in this process, by inode ("socket:[123]"), whatever fd numbers they have. */
function openSockets(): Set<string> {
  const links = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      links.add(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // the directory's own fd, gone by now
    }
  }
  return links;
}

test('an onAccept that throws: the accepted fd is closed (the client is reset), the error is uncaught once, accepting goes on', T, async () => {
  const port = await closedPort();
  const thrown = new Error('onAccept failed');
  let acceptedSocket = '';
  let calls = 0;
  const acceptor = acceptTcp(
    listenTcpFd(addrOf('127.0.0.1', port)),
    'local',
    ({ fd }) => {
      calls++;
      if (calls === 1) {
        acceptedSocket = readlinkSync(`/proc/self/fd/${fd}`);
        throw thrown;
      }
      nativeBinding().closeFd(fd);
    },
    (err) => assert.fail(err),
  );
  cleanups.push(() => acceptor.close());

  const reported = nextUncaught();
  const client = net.connect(port, '127.0.0.1');
  cleanups.push(() => client.destroy());
  const ended = clientEnd(client);
  await reported;
  assert.match(acceptedSocket, /^socket:\[\d+\]$/);
  assert.equal(openSockets().has(acceptedSocket), false, 'the accepted fd is still open');
  assert.equal(await withDeadline(ended, 'end of the client'), 'reset');
  assertReportedOnce(thrown);

  const second = net.connect(port, '127.0.0.1');
  cleanups.push(() => second.destroy());
  second.on('error', () => {});
  await withDeadline(once(second, 'close'), 'second connection closed by the acceptor');
  assert.equal(calls, 2);
});

test('an onDone that throws: the error is uncaught once, not thrown by the next addon call', T, async () => {
  const [client, relayClientEnd] = await socketPair();
  const [relayUpstreamEnd, upstream] = await socketPair();
  for (const s of [client, relayClientEnd, relayUpstreamEnd, upstream]) {
    s.on('error', () => {});
    cleanups.push(() => s.destroy());
  }
  const thrown = new Error('onDone failed');
  let done = 0;
  spliceRelay({ client: socketFd(relayClientEnd), upstream: socketFd(relayUpstreamEnd) }, { down: null, up: null }, 0, { withinMs: 0, maxBytesUp: 0 }, {
    spliceEnded() {
      done++;
      throw thrown;
    },
  });
  relayClientEnd.destroy(); // the relay holds its own duplicates
  relayUpstreamEnd.destroy();

  const reported = nextUncaught();
  client.end();
  upstream.end();
  await reported;
  assert.equal(done, 1);
  assertReportedOnce(thrown);
});

test('an onData that throws: the error is uncaught once and the dial ends as if aborted', T, async () => {
  const proxy = net.createServer();
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => proxy.close());
  const proxySide = new Promise<net.Socket>((resolve) => proxy.once('connection', resolve));
  const { client, accepted } = await acceptedPair(cleanups);
  const thrown = new Error('onData failed');
  const failures: number[] = [];
  new NativeDial(
    accepted.fd,
    { server: addrOf('127.0.0.1', (proxy.address() as net.AddressInfo).port), mark: 0, opening: Buffer.from('hello'), connectTimeoutMs: 2_000, handshakeTimeoutMs: 2_000 },
    {
      onData: () => {
        throw thrown;
      },
      onFailure: (failure) => failures.push(failure),
    },
  );
  const server = await proxySide;
  server.on('error', () => {});
  cleanups.push(() => server.destroy());
  const clientEnded = clientEnd(client);
  const reported = nextUncaught();
  server.write('reply');
  await reported;
  assert.equal(await withDeadline(clientEnded, 'reset of the client'), 'reset');
  await withDeadline(once(server.resume(), 'close'), 'close of the upstream');
  assert.deepEqual(failures, [], 'no event follows the end of the dial');
  assertReportedOnce(thrown);
});
