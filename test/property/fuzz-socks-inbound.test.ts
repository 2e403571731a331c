// Fuzz: the proxy inbound's server steps (src/inbound/socks/) on a live loopback listener. Random
// bytes and mutated valid client handshakes (SOCKS5 with a login, SOCKS4/4a, HTTP CONNECT and
// absolute-form), split anywhere into separate writes, mostly followed by the client's FIN: every
// connection ends within the handshake deadline, nothing throws out of the server, and afterwards
// it still serves a valid client.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import type { ClientConn } from '../../src/adapter/client-conn.js';
import type { Router } from '../../src/adapter/router.js';
import { encodeConnectRequest } from '../../src/codec/http-connect.js';
import { encodeSocks4Request } from '../../src/codec/socks4.js';
import { encodeGreeting, encodeRequest, encodeUserPassRequest } from '../../src/codec/socks5.js';
import { addrOf } from '../../src/core/addr.js';
import { LoopGuard } from '../../src/inbound/loop-guard.js';
import { startSocksInbound } from '../../src/inbound/socks/server.js';
import { byte, httpAddr, socks4Addr, socksAddr, utf8 } from '../helpers/codec-arbitraries.js';
import { cuts, fuzzRuns, split } from '../helpers/fuzz.js';
import { fuzzInputs } from '../helpers/mutate.js';
import { closedPort } from '../helpers/native-accept.js';

const HANDSHAKE_MS = 300;
const cleanups: (() => void)[] = [];
after(() => cleanups.splice(0).forEach((c) => c()));

const validClient = fc.oneof(
  fc.tuple(fc.array(byte, { minLength: 1, maxLength: 4 }), socksAddr, byte).map(([methods, addr, command]) =>
    Buffer.concat([encodeGreeting([...methods, 2]), encodeUserPassRequest('alice', 'pw'), encodeRequest(command, addr)]),
  ),
  fc.record({ command: fc.constantFrom(1 as const, 2 as const), addr: socks4Addr, userId: fc.oneof(fc.constant('alice:pw'), utf8(0, 20, false)) }).map(encodeSocks4Request),
  httpAddr.map((addr) => encodeConnectRequest(addr, { basicAuth: { username: 'alice', password: 'pw' } })),
  httpAddr.map((addr) => Buffer.from(`GET http://${addr.kind === 'ipv6' ? `[${addr.host}]` : addr.host}:${addr.port || 80}/x HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6cHc=\r\n\r\n`, 'latin1')),
);

/** Writes `chunks` one by one; resolves once the server closed the connection (or fails after a deadline). */
async function feed(port: number, chunks: readonly Buffer[], halfClose: boolean): Promise<void> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await once(socket, 'connect');
    for (const chunk of chunks) if (!socket.destroyed && chunk.length) socket.write(chunk);
    // Without the FIN, only the handshake deadline (or the server's own answer) ends it.
    if (halfClose) socket.end();
  } catch {
    // reset while connecting: over the handshake cap, which is fine here
  }
  const deadline = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('the server kept a connection open past the handshake deadline')), HANDSHAKE_MS + 2_000).unref());
  await Promise.race([closed, deadline]);
}

test('fuzz proxy inbound: every connection ends, nothing throws, a valid client is served afterwards', { timeout: 120_000 }, async () => {
  const port = await closedPort();
  let routed = 0;
  const router = {
    routeTcp(_flow: unknown, client: ClientConn) {
      routed++;
      // A dial that fails at once: the client gets its failure reply and the close.
      client.answer!.failed(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    },
  } as unknown as Router;
  const inbound = startSocksInbound(
    { listen: addrOf('127.0.0.1', port), users: [{ name: 'alice', password: 'pw' }], allowOpen: false, maxHandshakes: 64, bindTimeoutMs: 120_000 },
    { router, guard: new LoopGuard([], [], async () => []), log: pino({ level: 'silent' }), handshakeMs: HANDSHAKE_MS },
  );
  cleanups.push(() => inbound.close());
  await fc.assert(
    fc.asyncProperty(fuzzInputs(validClient), cuts, fc.integer({ min: 0, max: 19 }), async (input, at, silent) => {
      await feed(port, split(input, at), silent !== 0);
    }),
    fuzzRuns(300),
  );
  const before = routed;
  const reply: Buffer[] = [];
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('data', (d: Buffer) => reply.push(d));
  await once(socket, 'connect');
  socket.write(Buffer.concat([encodeGreeting([2]), encodeUserPassRequest('alice', 'pw'), encodeRequest(1, addrOf('192.0.2.1', 80))]));
  await once(socket, 'close');
  assert.equal(routed, before + 1);
  assert.deepEqual(Buffer.concat(reply).subarray(0, 6), Buffer.from([5, 2, 1, 0, 5, 5]));
});
