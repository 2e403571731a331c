// The proxy inbound's UDP ASSOCIATE handler (src/inbound/socks/udp-associate.ts) with a fake router
// and an echoing fake outbound: the NAT form, replies wrapped with their source, datagrams from
// another address or port dropped and counted, FRAG ≠ 0, malformed and rejected ones counted,
// and everything closed with the control connection.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { UdpAssociationEvents } from '../../../src/adapter/udp.js';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader } from '../../../src/codec/socks5-udp.js';
import { decodeReply, encodeGreeting, encodeRequest, Socks5Command } from '../../../src/codec/socks5.js';
import { ByteClient, decision, startCommandServer } from './socks-command-server.js';

const T = { timeout: 10_000 };
const cleanups: (() => void)[] = [];
after(() => cleanups.splice(0).forEach((c) => c()));

/** An outbound whose associations echo every payload back as a reply from its destination. */
function echoOutbound() {
  const sent: { client: SocksAddr; dst: SocksAddr; payload: string }[] = [];
  let open = 0;
  const outbound = {
    name: 'echo',
    async associate(client: SocksAddr, events: UdpAssociationEvents) {
      open++;
      return {
        relay: 'echo',
        send(dst: SocksAddr, data: Buffer, headroom: number) {
          const payload = data.subarray(headroom);
          sent.push({ client, dst, payload: String(payload) });
          setImmediate(() => events.onReply(dst, Buffer.from(payload)));
          return true;
        },
        close: () => open--,
      };
    },
  };
  return { outbound, sent, open: () => open };
}

async function associate(port: number, request: SocksAddr): Promise<{ control: ByteClient; relay: SocksAddr }> {
  const control = await ByteClient.connect(cleanups, port);
  control.socket.write(Buffer.concat([encodeGreeting([0]), encodeRequest(Socks5Command.UDP_ASSOCIATE, request)]));
  assert.deepEqual(await control.read(2), Buffer.of(5, 0));
  const decoded = decodeReply(await control.read(10));
  assert.ok(typeof decoded === 'object');
  assert.equal(decoded.value.reply, 0);
  return { control, relay: decoded.value.bound };
}

async function udpClient(host = '127.0.0.1'): Promise<UdpSocket> {
  const socket = createSocket('udp4');
  cleanups.push(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return socket;
}

const datagram = (dst: SocksAddr, payload: string, frag = 0) => Buffer.concat([encodeSocks5UdpHeader({ frag, addr: dst }), Buffer.from(payload)]);

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}

test('the NAT form (0.0.0.0:0): datagrams to an IP and to a name are decided, sent, and answered with their source in the header', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, () => decision(echo.outbound));
  const { relay } = await associate(s.port, addrOf('0.0.0.0', 0));
  assert.equal(relay.host, '127.0.0.1');
  const client = await udpClient();
  const target = addrOf('192.0.2.53', 53);
  client.send(datagram(target, 'ping'), relay.port, relay.host);
  const [reply] = (await once(client, 'message')) as [Buffer];
  const header = decodeSocks5UdpHeader(reply);
  assert.ok(typeof header === 'object');
  assert.deepEqual(header.value.addr, target);
  assert.equal(String(reply.subarray(header.bytesRead)), 'ping');
  client.send(datagram({ kind: 'domain', host: 'echo.test', port: 7 }, 'named'), relay.port, relay.host);
  await once(client, 'message');
  assert.deepEqual(s.decided.map((d) => [d.network, d.dst]), [['udp', '192.0.2.53:53'], ['udp', 'echo.test:7']]);
  assert.equal(echo.sent[0].client.port, client.address().port);
  assert.deepEqual([s.counters.datagramsIn, s.counters.datagramsOut, s.counters.repliesIn, s.counters.repliesOut], [2, 2, 2, 2]);
});

test('only the client takes part: another address (127.0.0.2), or another port when the request named one, is dropped and counted', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, () => decision(echo.outbound));
  const stranger = await udpClient('127.0.0.2');
  const nat = await associate(s.port, addrOf('0.0.0.0', 0));
  stranger.send(datagram(addrOf('192.0.2.53', 53), 'intruder'), nat.relay.port, nat.relay.host);
  await until(() => s.counters.droppedForeignSource === 1);

  const client = await udpClient();
  const other = await udpClient();
  const named = await associate(s.port, addrOf('127.0.0.1', client.address().port));
  other.send(datagram(addrOf('192.0.2.53', 53), 'wrong port'), named.relay.port, named.relay.host);
  await until(() => s.counters.droppedForeignSource === 2);
  client.send(datagram(addrOf('192.0.2.53', 53), 'right port'), named.relay.port, named.relay.host);
  await once(client, 'message');
  assert.deepEqual(echo.sent.map((e) => e.payload), ['right port']);
});

test('FRAG ≠ 0, a malformed header and a rejected destination are dropped, each counted', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, (flow) => (flow.dst.port === 9 ? decision({ name: 'reject' }, 'reject') : decision(echo.outbound)));
  const { relay } = await associate(s.port, addrOf('0.0.0.0', 0));
  const client = await udpClient();
  client.send(datagram(addrOf('192.0.2.53', 53), 'fragment', 1), relay.port, relay.host);
  client.send(Buffer.of(0, 0, 0, 9, 1), relay.port, relay.host);
  client.send(Buffer.of(0, 0, 0, 1, 192), relay.port, relay.host);
  client.send(datagram(addrOf('192.0.2.53', 9), 'rejected'), relay.port, relay.host);
  await until(() => s.counters.droppedFragmented === 1 && s.counters.droppedMalformed === 2 && s.counters.droppedRejected === 1);
  assert.equal(echo.sent.length, 0);
});

test('the association ends with the control connection: its upstream associations and its socket are closed', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, () => decision(echo.outbound));
  const { control, relay } = await associate(s.port, addrOf('0.0.0.0', 0));
  const client = await udpClient();
  client.send(datagram(addrOf('192.0.2.53', 53), 'one'), relay.port, relay.host);
  await once(client, 'message');
  assert.deepEqual([echo.open(), s.udp.upstreamAssociations], [1, 1]);
  control.socket.end();
  await control.closed();
  await until(() => echo.open() === 0 && s.udp.upstreamAssociations === 0);
  // The port is free again: nothing listens on it.
  const probe = createSocket('udp4');
  cleanups.push(() => probe.close());
  await new Promise<void>((resolve) => probe.bind(relay.port, '127.0.0.1', resolve));
});

test('random and mutated datagrams from the client: each dropped or sent on, nothing thrown, the association still serves', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, () => decision(echo.outbound));
  const { relay } = await associate(s.port, addrOf('0.0.0.0', 0));
  const client = await udpClient();
  const valid = datagram(addrOf('192.0.2.53', 53), 'payload');
  const mutated = fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
    const copy = Buffer.from(valid);
    copy[at] = byte;
    return copy;
  });
  const inputs = [...fc.sample(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), 300), ...fc.sample(mutated, 300)];
  // Paced, so the kernel's receive buffer never overflows on loopback: every datagram is seen.
  for (let i = 0; i < inputs.length; i += 20) {
    for (const input of inputs.slice(i, i + 20)) client.send(input, relay.port, relay.host);
    await until(() => s.counters.datagramsIn >= Math.min(i + 20, inputs.length));
  }
  client.send(datagram(addrOf('192.0.2.53', 53), 'still here'), relay.port, relay.host);
  for (;;) {
    const [reply] = (await once(client, 'message')) as [Buffer];
    if (reply.subarray(-10).toString() === 'still here') break;
  }
  const c = s.counters;
  assert.equal(c.datagramsOut + c.droppedMalformed + c.droppedFragmented + c.droppedLoop + c.droppedPendingLimit + c.droppedQueueFull, inputs.length + 1);
});

test('at most udp.max_associations client associations at once: one more gets REP 1; a closed one makes room', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, () => decision(echo.outbound), { maxAssociations: 1 });
  const first = await associate(s.port, addrOf('0.0.0.0', 0));
  const refused = await ByteClient.connect(cleanups, s.port);
  refused.socket.write(Buffer.concat([encodeGreeting([0]), encodeRequest(Socks5Command.UDP_ASSOCIATE, addrOf('0.0.0.0', 0))]));
  assert.deepEqual(await refused.read(2), Buffer.of(5, 0));
  assert.equal((await refused.read(10))[1], 1);
  await refused.closed();
  first.control.socket.end();
  await first.control.closed();
  await associate(s.port, addrOf('0.0.0.0', 0));
});

test('one table for every client association: udp.max_associations bounds their upstream associations together, and each closes only its own', T, async () => {
  const echo = echoOutbound();
  const s = await startCommandServer(cleanups, () => decision(echo.outbound), { maxAssociations: 2 });
  const a = await associate(s.port, addrOf('0.0.0.0', 0));
  const b = await associate(s.port, addrOf('0.0.0.0', 0));
  const target = addrOf('192.0.2.53', 53);
  const [a1, b1, b2] = [await udpClient(), await udpClient(), await udpClient()];
  for (const [client, relay] of [[a1, a.relay], [b1, b.relay]] as const) {
    client.send(datagram(target, 'one'), relay.port, relay.host);
    await once(client, 'message');
  }
  assert.deepEqual([echo.open(), s.udp.upstreamAssociations], [2, 2]);
  // A third source makes room by closing the least recently used (a1's), whichever session owns it.
  b2.send(datagram(target, 'three'), b.relay.port, b.relay.host);
  await once(b2, 'message');
  assert.deepEqual([echo.open(), s.udp.upstreamAssociations, s.counters.associationsEvicted], [2, 2, 1]);
  a1.send(datagram(target, 'again'), a.relay.port, a.relay.host);
  await once(a1, 'message');
  assert.equal(s.counters.associationsEvicted, 2);
  b.control.socket.end();
  await b.control.closed();
  await until(() => echo.open() === 1 && s.udp.upstreamAssociations === 1);
  a1.send(datagram(target, 'still'), a.relay.port, a.relay.host);
  const [reply] = (await once(a1, 'message')) as [Buffer];
  assert.equal(reply.subarray(-5).toString(), 'still');
});
