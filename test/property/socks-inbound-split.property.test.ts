// Property: the proxy inbound reads its clients in the addon (src/inbound/socks/proxy-client-conn.ts)
// however their bytes arrive. A valid CONNECT (SOCKS5, SOCKS4/4a, HTTP) followed by pipelined bytes,
// split anywhere into separate writes, reaches the router with the destination a one-shot decode
// of the same bytes gives, and every byte after the request reaches the relay once, in order.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import type { ClientConn } from '../../src/adapter/client-conn.js';
import type { Router } from '../../src/adapter/router.js';
import { encodeConnectRequest } from '../../src/codec/http-connect.js';
import { decodeProxyRequest } from '../../src/codec/http-proxy-request.js';
import { decodeSocks4Request, encodeSocks4Request } from '../../src/codec/socks4.js';
import { decodeRequest, encodeGreeting, encodeRequest } from '../../src/codec/socks5.js';
import { addrOf, type SocksAddr } from '../../src/core/addr.js';
import type { Flow } from '../../src/core/flow.js';
import { LoopGuard } from '../../src/inbound/loop-guard.js';
import { startSocksInbound } from '../../src/inbound/socks/server.js';
import { bytes, httpAddr, socks4Addr, socksAddr } from '../helpers/codec-arbitraries.js';
import { cuts, fuzzRuns, split } from '../helpers/fuzz.js';
import { closedPort } from '../helpers/native-accept.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.splice(0).forEach((c) => c()));

interface Case {
  readonly request: Buffer;
  /** The destination a one-shot decode of the request gives. */
  readonly target: SocksAddr;
}

const connects: fc.Arbitrary<Case> = fc.oneof(
  socksAddr.map((addr) => {
    const head = encodeRequest(1, addr);
    return { request: Buffer.concat([encodeGreeting([0]), head]), target: (decodeRequest(head, 0) as { value: { addr: SocksAddr } }).value.addr };
  }),
  socks4Addr.map((addr) => {
    const request = encodeSocks4Request({ command: 1, addr, userId: 'u' });
    return { request, target: (decodeSocks4Request(request, 0) as { value: { addr: SocksAddr } }).value.addr };
  }),
  // A CONNECT to port 0 is refused by the decoder: not a valid request to split.
  httpAddr.filter((addr) => addr.port > 0).map((addr) => {
    const request = encodeConnectRequest(addr);
    return { request, target: (decodeProxyRequest(request, 0) as { value: { target: SocksAddr } }).value.target };
  }),
);

test('split anywhere: a CONNECT reaches the router with the one-shot destination, and the bytes after it reach the relay once, in order', { timeout: 120_000 }, async () => {
  const port = await closedPort();
  let routed: (got: { flow: Flow; relayed: Buffer }) => void = () => assert.fail('a flow nobody waited for');
  const router = {
    routeTcp(flow: Flow, client: ClientConn) {
      // As the Node path takes it: the bytes read past the request are back in front of the socket.
      const socket = client.socket();
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('end', () => {
        socket.end();
        routed({ flow, relayed: Buffer.concat(chunks) });
      });
      socket.resume();
    },
  } as unknown as Router;
  const inbound = startSocksInbound(
    { listen: addrOf('127.0.0.1', port), users: [], allowOpen: false, maxHandshakes: 64, bindTimeoutMs: 120_000 },
    { router, guard: new LoopGuard([], [], async () => []), log: pino({ level: 'silent' }), handshakeMs: 5_000 },
  );
  cleanups.push(() => inbound.close());
  await fc.assert(
    fc.asyncProperty(connects, bytes(3000), cuts, async ({ request, target }, pipelined, at) => {
      const got = new Promise<{ flow: Flow; relayed: Buffer }>((resolve) => (routed = resolve));
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.on('error', () => {});
      socket.resume();
      await once(socket, 'connect');
      for (const chunk of split(Buffer.concat([request, pipelined]), at)) {
        if (chunk.length) socket.write(chunk);
        // A turn of the loop between writes, so the server's reads see them apart.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      socket.end();
      const { flow, relayed } = await got;
      socket.destroy();
      assert.deepEqual(flow.dst, target);
      assert.deepEqual(relayed, pipelined);
    }),
    fuzzRuns(200),
  );
});
