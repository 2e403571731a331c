// The proxy inbound's BIND handler (src/inbound/socks/bind.ts) with a fake router: direct BIND on
// loopback (both replies, data both ways, the flow reported), SOCKS4 BIND, reject → REP 2 / 0x5b,
// an outbound without bind → REP 7, the timeout's second reply, and a client that leaves first.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import type { BindContext } from '../../../src/adapter/outbound.js';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { decodeReply, encodeGreeting, encodeRequest, Socks5Command } from '../../../src/codec/socks5.js';
import { encodeSocks4Request } from '../../../src/codec/socks4.js';
import { directBind } from '../../../src/outbound/direct-bind.js';
import { ByteClient, decision, startCommandServer } from './socks-command-server.js';

const T = { timeout: 10_000 };
const cleanups: (() => void)[] = [];
after(() => cleanups.splice(0).forEach((c) => c()));

const direct = { name: 'direct', bind: (peer: SocksAddr, ctx: BindContext) => directBind(peer, ctx.localHost) };

/** SOCKS5 greeting (no login) and a BIND request for `peer`; returns the client past the method selection. */
async function socks5Bind(port: number, peer: SocksAddr): Promise<ByteClient> {
  const client = await ByteClient.connect(cleanups, port);
  client.socket.write(Buffer.concat([encodeGreeting([0]), encodeRequest(Socks5Command.BIND, peer)]));
  assert.deepEqual(await client.read(2), Buffer.of(5, 0));
  return client;
}

/** One SOCKS5 reply with an IPv4 address (10 bytes). */
async function reply5(client: ByteClient): Promise<{ reply: number; bound: SocksAddr }> {
  const decoded = decodeReply(await client.read(10));
  assert.ok(typeof decoded === 'object');
  return decoded.value;
}

test('direct BIND: the first reply names a loopback port, the peer connects, the second reply names it, bytes flow both ways', T, async () => {
  const s = await startCommandServer(cleanups, () => decision(direct));
  const client = await socks5Bind(s.port, addrOf('127.0.0.1', 0));
  const first = await reply5(client);
  assert.equal(first.reply, 0);
  assert.equal(first.bound.host, '127.0.0.1');
  const remote = net.connect({ host: '127.0.0.1', port: first.bound.port });
  cleanups.push(() => remote.destroy());
  await once(remote, 'connect');
  const second = await reply5(client);
  assert.deepEqual([second.reply, second.bound.host, second.bound.port], [0, '127.0.0.1', remote.localPort]);
  client.socket.write('from client');
  const [up] = await once(remote, 'data');
  assert.equal(String(up), 'from client');
  remote.write('from remote');
  assert.equal(String(await client.read(11)), 'from remote');
  remote.end();
  client.socket.end();
  await client.closed();
  for (let i = 0; i < 50 && s.closed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(s.decided, [{ network: 'tcp', dst: '127.0.0.1:0', user: undefined }]);
  assert.equal(s.opened[0].inbound, 'socks');
  // The copying relay counts the socket's bytes, the handshake's included (as for CONNECT).
  const { end } = s.closed[0];
  assert.equal(end.outcome, 'closed');
  assert.ok(end.bytesUp >= 11 && end.bytesDown >= 11, JSON.stringify(end));
});

test('SOCKS4 BIND: the first reply carries the announced port and address, the second the peer', T, async () => {
  const s = await startCommandServer(cleanups, () => decision(direct));
  const client = await ByteClient.connect(cleanups, s.port);
  client.socket.write(encodeSocks4Request({ command: 2, addr: addrOf('127.0.0.1', 21), userId: '' }));
  const first = await client.read(8);
  assert.equal(first[1], 0x5a);
  const port = first.readUInt16BE(2);
  assert.equal([...first.subarray(4)].join('.'), '127.0.0.1');
  const remote = net.connect({ host: '127.0.0.1', port });
  cleanups.push(() => remote.destroy());
  await once(remote, 'connect');
  const second = await client.read(8);
  assert.deepEqual([second[1], second.readUInt16BE(2)], [0x5a, remote.localPort]);
});

test('a reject rule answers REP 2 (SOCKS4 0x5b); an outbound that cannot BIND answers REP 7; both are reported as failed flows', T, async () => {
  const rejected = await startCommandServer(cleanups, () => decision({ name: 'reject' }, 'reject'));
  const client = await socks5Bind(rejected.port, addrOf('192.0.2.9', 0));
  assert.equal((await reply5(client)).reply, 2);
  await client.closed();
  const four = await ByteClient.connect(cleanups, rejected.port);
  four.socket.write(encodeSocks4Request({ command: 2, addr: addrOf('192.0.2.9', 21), userId: '' }));
  assert.equal((await four.read(8))[1], 0x5b);
  assert.deepEqual(rejected.closed.map((c) => c.end.reason), ['SG_ERR_REJECTED', 'SG_ERR_REJECTED']);

  const noBind = await startCommandServer(cleanups, () => decision({ name: 'http-up' }, 'upstream'));
  const c2 = await socks5Bind(noBind.port, addrOf('192.0.2.9', 0));
  assert.equal((await reply5(c2)).reply, 7);
  assert.equal(noBind.closed[0].end.reason, 'SG_ERR_BIND_UNSUPPORTED');
});

test('nobody connects within the BIND timeout: a second reply with REP 4, then the close; the port is closed', T, async () => {
  const s = await startCommandServer(cleanups, () => decision(direct), { bindTimeoutMs: 200 });
  const client = await socks5Bind(s.port, addrOf('127.0.0.1', 0));
  const first = await reply5(client);
  assert.equal((await reply5(client)).reply, 4);
  await client.closed();
  assert.equal(s.closed[0].end.reason, 'SG_ERR_BIND_TIMEOUT');
  const late = net.connect({ host: '127.0.0.1', port: first.bound.port });
  const [err] = await once(late, 'error');
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('the client closes the control connection before the peer came: the BIND port is closed', T, async () => {
  const s = await startCommandServer(cleanups, () => decision(direct));
  const client = await socks5Bind(s.port, addrOf('127.0.0.1', 0));
  const first = await reply5(client);
  client.socket.end();
  for (let i = 0; i < 50 && s.closed.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.closed[0].end.reason, 'SG_ERR_CLIENT_RESET');
  assert.equal(s.sessions.size, 0);
  const late = net.connect({ host: '127.0.0.1', port: first.bound.port });
  const [err] = await once(late, 'error');
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});
