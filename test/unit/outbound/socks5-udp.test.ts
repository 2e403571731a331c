// The UDP ASSOCIATE client against an in-process SOCKS5 server whose relay the test drives, for
// what real servers rarely do: fragments, malformed headers, domain sources, strangers, REP=7.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { pino } from 'pino';
import type { SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { decodeGreeting, decodeRequest, encodeMethodSelection, encodeReply } from '../../../src/codec/socks5.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader } from '../../../src/codec/socks5-udp.js';
import { openUdpSocket } from '../../../src/native/index.js';
import { Socks5UdpDialer } from '../../../src/outbound/socks5-udp.js';
import type { UdpAssociationEvents } from '../../../src/adapter/udp.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';

const log = pino({ level: 'silent' });
const T = { timeout: 10_000 };
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((f) => f()));

interface FakeServer {
  port: number;
  relay: dgram.Socket;
  requests: SocksAddr[];
  controls: Socket[];
  /** What each control connection's reads returned, in order: shows which messages shared a write. */
  chunks: Buffer[];
  /** The last client UDP address seen by the relay. */
  peer?: dgram.RemoteInfo;
  received: { dst: SocksAddr; payload: string }[];
}

/** reply: a REP code to answer with, 'eof' to close, 'silent' to never answer the request, or 'ok' to announce `announce` (default: the relay). */
async function fakeServer(reply: number | 'eof' | 'silent' | 'ok', announce?: (relayPort: number) => SocksAddr): Promise<FakeServer> {
  const relay = dgram.createSocket('udp4');
  relay.bind(0, '127.0.0.1');
  await once(relay, 'listening');
  const fake: FakeServer = { port: 0, relay, requests: [], controls: [], chunks: [], received: [] };
  relay.on('message', (msg, rinfo) => {
    fake.peer = rinfo;
    const h = decodeSocks5UdpHeader(msg, 0);
    if (h !== NEED_MORE) fake.received.push({ dst: h.value.addr, payload: msg.subarray(h.bytesRead).toString() });
  });
  const server: Server = createServer((socket) => {
    fake.controls.push(socket);
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stage = 0;
    socket.on('data', (chunk) => {
      fake.chunks.push(chunk);
      buf = Buffer.concat([buf, chunk]);
      if (stage === 0) {
        const g = decodeGreeting(buf, 0);
        if (g === NEED_MORE) return;
        buf = buf.subarray(g.bytesRead);
        socket.write(encodeMethodSelection(0));
        stage = 1;
      }
      const r = decodeRequest(buf, 0);
      if (r === NEED_MORE) return;
      fake.requests.push(r.value.addr);
      if (reply === 'eof') return void socket.end();
      if (reply === 'silent') return;
      const bound = announce ? announce(relay.address().port) : { kind: 'ipv4' as const, host: '127.0.0.1', port: relay.address().port };
      socket.write(encodeReply(reply === 'ok' ? 0 : reply, bound));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.port = (server.address() as AddressInfo).port;
  cleanups.push(() => {
    relay.close();
    for (const c of fake.controls) c.destroy();
    server.close();
  });
  return fake;
}

function dialer(port: number, sendSource = false, pipelining?: { shouldPipeline(): boolean; forget(): void }, handshakeTimeoutMs = 2000) {
  const counters = createUdpCounters();
  const upstream = { name: 'fake', protocol: 'socks5' as const, server: { kind: 'ipv4' as const, host: '127.0.0.1', port }, pipelining: 'off' as const };
  const settings = {
    mark: 0,
    connectTimeoutMs: 2000,
    handshakeTimeoutMs,
    sendSource,
    retryNoUdpMs: 60_000,
    openSocket: (family: 'ipv4' | 'ipv6') => openUdpSocket(family === 'ipv4' ? { kind: 'ipv4', host: '127.0.0.1', port: 0 } : { kind: 'ipv6', host: '::1', port: 0 }),
  };
  return { counters, dialer: new Socks5UdpDialer(upstream, settings, counters, log, pipelining) };
}

function events() {
  const replies: { from: SocksAddr; payload: string }[] = [];
  const closes: string[] = [];
  let wake: (() => void) | undefined;
  const ev: UdpAssociationEvents = {
    onReply: (from, payload) => {
      replies.push({ from, payload: payload.toString() });
      wake?.();
    },
    onClose: (reason) => closes.push(reason),
  };
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 3000;
    while (!cond()) {
      assert.ok(Date.now() < deadline, 'timed out');
      await new Promise<void>((r) => ((wake = r), setTimeout(r, 20)));
    }
  };
  return { ev, replies, closes, until };
}

const client: SocksAddr = { kind: 'ipv4', host: '192.0.2.2', port: 5353 };
const target: SocksAddr = { kind: 'ipv4', host: '198.51.100.2', port: 53 };

test('associate: asks for 0.0.0.0:0, sends with the header in the headroom, delivers replies', T, async () => {
  const fake = await fakeServer('ok');
  const { dialer: d } = dialer(fake.port);
  const e = events();
  const assoc = await d.associate(client, e.ev);
  assert.deepEqual(fake.requests, [{ kind: 'ipv4', host: '0.0.0.0', port: 0 }]);
  assert.equal(assoc.relay, `127.0.0.1:${fake.relay.address().port}`);
  assert.equal(assoc.send(target, Buffer.concat([Buffer.alloc(30), Buffer.from('query')]), 30), true);
  await e.until(() => fake.received.length === 1);
  assert.deepEqual(fake.received, [{ dst: target, payload: 'query' }]);
  const peer = fake.peer!;
  fake.relay.send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr: { kind: 'ipv4', host: '203.0.113.5', port: 99 } }), Buffer.from('answer')]), peer.port, peer.address);
  await e.until(() => e.replies.length === 1);
  assert.deepEqual(e.replies, [{ from: { kind: 'ipv4', host: '203.0.113.5', port: 99 }, payload: 'answer' }]);
  assoc.close();
});

const GREETING = Buffer.from([5, 1, 0]);
const ASSOCIATE_ANY = Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);

test('associate: greeting and request share one write when the upstream takes pipelined handshakes, else go one by one', T, async () => {
  for (const pipelined of [true, false]) {
    const fake = await fakeServer('ok');
    const { dialer: d } = dialer(fake.port, false, { shouldPipeline: () => pipelined, forget: () => assert.fail('nothing to forget') });
    const assoc = await d.associate(client, events().ev);
    assert.deepEqual(fake.chunks, pipelined ? [Buffer.concat([GREETING, ASSOCIATE_ANY])] : [GREETING, ASSOCIATE_ANY], pipelined ? 'pipelined' : 'stepwise');
    assoc.close();
  }
});

test('associate: a pipelined request left unanswered makes the upstream learn pipelining again', T, async () => {
  const fake = await fakeServer('silent');
  let forgotten = 0;
  const { dialer: d } = dialer(fake.port, false, { shouldPipeline: () => true, forget: () => forgotten++ }, 200);
  await assert.rejects(d.associate(client, events().ev), (err: Error & { code?: string }) => err.code === ErrorCode.HANDSHAKE_TIMEOUT);
  assert.equal(forgotten, 1);
});

test('associate: FRAG≠0, malformed and truncated datagrams are dropped and counted, foreign ones never arrive; domain sources are named', T, async () => {
  const fake = await fakeServer('ok');
  const { dialer: d, counters } = dialer(fake.port);
  const e = events();
  const assoc = await d.associate(client, e.ev);
  assoc.send({ kind: 'ipv4', host: '198.51.100.2', port: 853 }, Buffer.concat([Buffer.alloc(10), Buffer.from('x')]), 10);
  await e.until(() => fake.received.length === 1);
  const { port, address } = fake.peer!;
  const send = (buf: Buffer) => fake.relay.send(buf, port, address);
  // a spoof from another socket first: the association's socket is connected to the relay, so
  // the kernel drops it before the datagrams below arrive
  const stranger = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => stranger.send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr: target }), Buffer.from('spoof')]), port, address, () => resolve()));
  stranger.close();
  send(Buffer.concat([encodeSocks5UdpHeader({ frag: 1, addr: target }), Buffer.from('frag')]));
  send(Buffer.from('0100000100000000', 'hex'));
  send(Buffer.from('00000001c633', 'hex'));
  send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr: { kind: 'domain', host: 'unknown.example', port: 1 } }), Buffer.from('?')]));
  send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr: { kind: 'domain', host: 'dns.example', port: 853 } }), Buffer.from('named')]));
  send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr: { kind: 'domain', host: '203.0.113.9', port: 7 } }), Buffer.from('literal')]));
  await e.until(() => e.replies.length === 2);
  assert.deepEqual(e.replies, [
    { from: { kind: 'ipv4', host: '198.51.100.2', port: 853 }, payload: 'named' },
    { from: { kind: 'ipv4', host: '203.0.113.9', port: 7 }, payload: 'literal' },
  ]);
  assert.equal(counters.droppedFragmented, 1);
  assert.equal(counters.droppedMalformed, 2);
  assert.equal(counters.droppedUnresolvable, 1);
  assoc.close();
});

test('associate: closing the control connection ends the association, and close() closes it', T, async () => {
  const fake = await fakeServer('ok');
  const { dialer: d } = dialer(fake.port, true);
  const e = events();
  const assoc = await d.associate(client, e.ev);
  assert.equal(fake.requests[0].host, '127.0.0.1');
  assert.notEqual(fake.requests[0].port, 0); // send_source: our UDP port
  fake.controls[0].destroy();
  await e.until(() => e.closes.length === 1);
  assert.equal(assoc.send(target, Buffer.alloc(20), 10), false);
  const again = await d.associate(client, events().ev);
  const closed = once(fake.controls[1], 'close');
  again.close();
  await closed;
});

test('associate: an unusable announced address is replaced by the server address', T, async () => {
  const fake = await fakeServer('ok', (port) => ({ kind: 'ipv6', host: '::', port }));
  const { dialer: d } = dialer(fake.port);
  const assoc = await d.associate(client, events().ev);
  assert.equal(assoc.relay, `127.0.0.1:${fake.relay.address().port}`);
  assoc.close();
});

for (const [what, reply] of [['REP=7 (microsocks)', 7], ['a close without a reply (ssh -D)', 'eof']] as const) {
  test(`associate: ${what} means no UDP; the upstream is not asked again for a while`, T, async () => {
    const fake = await fakeServer(reply);
    const { dialer: d } = dialer(fake.port);
    await assert.rejects(d.associate(client, events().ev), { code: ErrorCode.UDP_UNSUPPORTED });
    await assert.rejects(d.associate(client, events().ev), { code: ErrorCode.UDP_UNSUPPORTED });
    assert.equal(fake.requests.length, 1);
  });
}

test('associate: an abort while the upstream has not answered closes the control connection and rejects', T, async () => {
  const controls: Socket[] = [];
  const silent = createServer((socket) => controls.push(socket.on('error', () => {}).resume()));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  cleanups.push(() => silent.close());
  const { dialer: d } = dialer((silent.address() as AddressInfo).port);
  const abort = new AbortController();
  const opening = d.associate(client, events().ev, abort.signal);
  while (controls.length === 0) await new Promise((r) => setTimeout(r, 5));
  const closed = once(controls[0], 'close');
  abort.abort();
  await assert.rejects(opening, { code: ErrorCode.ABORTED });
  await closed;
});
