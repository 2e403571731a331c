// BIND on the outbound side: through a SOCKS5 server (a scripted one here; Dante in e2e) and done
// locally for `direct` (a listener that takes only the expected peer).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { AuthMethod, Socks5Command, decodeGreeting, decodeRequest, encodeMethodSelection, encodeReply } from '../../../src/codec/socks5.js';
import { directBind } from '../../../src/outbound/direct-bind.js';
import { socks5Bind } from '../../../src/outbound/socks5-bind.js';

const settings = { mark: 0, connectTimeoutMs: 2000, handshakeTimeoutMs: 2000 };
const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/**
 * A SOCKS5 server answering a BIND with `first`, then, when `connectPeer` is called, the second
 * reply and an echo; a CONNECT or a BIND it should refuse gets `refuse`.
 */
async function bindServer(first: { host: string; port: number }, refuse?: number) {
  let control: Socket | undefined;
  const commands: number[] = [];
  const server = createServer((socket) => {
    control = socket;
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let stage: 'greeting' | 'request' | 'done' = 'greeting';
    socket.on('data', (chunk) => {
      if (stage === 'done') return void socket.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      if (stage === 'greeting') {
        const g = decodeGreeting(buffered, 0);
        if (g === NEED_MORE) return;
        buffered = buffered.subarray(g.bytesRead);
        socket.write(encodeMethodSelection(AuthMethod.NONE));
        stage = 'request';
      }
      const r = decodeRequest(buffered, 0);
      if (r === NEED_MORE) return;
      commands.push(r.value.command);
      stage = 'done';
      socket.write(encodeReply(refuse ?? 0, addrOf(first.host, first.port)));
      if (refuse !== undefined) socket.end();
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { server: addrOf('127.0.0.1', port), commands, connectPeer: (peer: string, peerPort: number) => control!.write(encodeReply(0, addrOf(peer, peerPort))) };
}

test('SOCKS5 BIND: the first reply is the announced port (an unspecified address means the server), the second names the peer, then the stream is theirs', async () => {
  const fake = await bindServer({ host: '0.0.0.0', port: 5555 });
  const listener = await socks5Bind(fake.server, undefined, settings, addrOf('192.0.2.7', 0), { flowId: 1 });
  assert.deepEqual(fake.commands, [Socks5Command.BIND]);
  assert.deepEqual(listener.bound, addrOf('127.0.0.1', 5555));
  const accepted = listener.accepted(2000);
  fake.connectPeer('192.0.2.7', 20);
  const { socket, peer } = await accepted;
  assert.deepEqual(peer, addrOf('192.0.2.7', 20));
  socket.resume();
  socket.write('ping');
  const [echo] = await once(socket, 'data');
  assert.equal(String(echo), 'ping');
  socket.destroy();
});

test('SOCKS5 BIND: a refusal is BIND_UNSUPPORTED; nobody connecting in time is BIND_TIMEOUT', async () => {
  const refusing = await bindServer({ host: '0.0.0.0', port: 0 }, 7);
  await assert.rejects(socks5Bind(refusing.server, undefined, settings, addrOf('192.0.2.7', 0), { flowId: 2 }), { code: ErrorCode.BIND_UNSUPPORTED });
  const silent = await bindServer({ host: '127.0.0.1', port: 5556 });
  const listener = await socks5Bind(silent.server, undefined, settings, addrOf('192.0.2.7', 0), { flowId: 3 });
  await assert.rejects(listener.accepted(100), { code: ErrorCode.BIND_TIMEOUT });
});

function connectFrom(localAddress: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

test('direct BIND: listens where the peer can reach it and takes only the expected peer', async () => {
  const listener = await directBind(addrOf('127.0.0.1', 21), '192.0.2.1');
  assert.equal(listener.bound.host, '127.0.0.1', 'the address that routes to the peer');
  assert.ok(listener.bound.port > 0);
  const accepted = listener.accepted(2000);
  const stranger = connect({ host: '127.0.0.1', port: listener.bound.port, localAddress: '127.0.0.2' });
  stranger.on('error', () => {});
  // Not events.once: it rejects on the reset's 'error'.
  await new Promise((resolve) => stranger.on('close', resolve));
  const expected = await connectFrom('127.0.0.1', listener.bound.port);
  const { socket, peer } = await accepted;
  assert.equal(peer.host, '127.0.0.1');
  socket.resume();
  expected.write('data');
  const [got] = await once(socket, 'data');
  assert.equal(String(got), 'data');
  socket.destroy();
  expected.destroy();
  await assert.rejects(connectFrom('127.0.0.1', listener.bound.port), 'the listener closed once the connection came');
});

test('direct BIND: an unknown peer listens on the fallback address and takes anyone; an unused BIND times out and closes', async () => {
  const listener = await directBind(addrOf('0.0.0.0', 0), '127.0.0.1');
  assert.equal(listener.bound.host, '127.0.0.1');
  await assert.rejects(listener.accepted(100), { code: ErrorCode.BIND_TIMEOUT });
  await assert.rejects(connectFrom('127.0.0.1', listener.bound.port));
});

test('direct BIND: closing it while it waits (the client left) ends the wait at once', async () => {
  const listener = await directBind(addrOf('127.0.0.1', 0), '127.0.0.1');
  const waiting = listener.accepted(60_000);
  listener.close();
  await assert.rejects(waiting, { code: ErrorCode.ABORTED });
});
