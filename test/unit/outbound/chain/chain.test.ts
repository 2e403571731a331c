// The composed handshake of a chain, driven as runHandshake and the native dialer drive it: which
// bytes go in which write (pipelined hops share one), replies split anywhere, refusals named by hop.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { addrOf, type SocksAddr } from '../../../../src/core/addr.js';
import { ErrorCode, SgError } from '../../../../src/core/errors.js';
import { NEED_MORE } from '../../../../src/core/need-more.js';
import { AuthMethod, Socks5Command, encodeGreeting, encodeMethodSelection, encodeReply, encodeRequest, encodeUserPassReply, encodeUserPassRequest } from '../../../../src/codec/socks5.js';
import { encodeConnectRequest } from '../../../../src/codec/http-connect.js';
import type { UpstreamConfig } from '../../../../src/config/upstream.js';
import type { ChainLeg, Handshake } from '../../../../src/adapter/handshake.js';
import type { Outbound } from '../../../../src/adapter/outbound.js';
import { ChainHandshake } from '../../../../src/outbound/chain/chain-handshake.js';
import { ChainOutbound } from '../../../../src/outbound/chain/chain-outbound.js';
import { createOutbound } from '../../../../src/outbound/registry.js';
import { testOutboundSettings } from '../../../helpers/outbounds.js';

const log = pino({ level: 'silent' });
const dst: SocksAddr = addrOf('203.0.113.10', 80);
const bound: SocksAddr = addrOf('198.51.100.1', 40000);
const relayBytes = Buffer.from('HTTP/1.1 200 OK\r\n');

function upstream(name: string, protocol: UpstreamConfig['protocol'], port: number, extra: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return { name, protocol, server: addrOf('192.0.2.1', port), pipelining: 'off', ...extra };
}

function chain(...configs: UpstreamConfig[]): ChainOutbound {
  const hops = configs.map((c) => createOutbound(c, testOutboundSettings(), log));
  return new ChainOutbound('c', hops, testOutboundSettings(), log);
}

const ok = encodeReply(0, bound);
const noAuth = encodeMethodSelection(AuthMethod.NONE);
const userPass = encodeMethodSelection(AuthMethod.USERPASS);
const connectTo = (port: number) => encodeRequest(Socks5Command.CONNECT, addrOf('192.0.2.1', port));
const login = encodeUserPassRequest('bob', 'pw');
const http200 = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n');

interface Driven {
  readonly writes: Buffer[];
  readonly done?: number;
}

/**
 * Drives `handshake` over `stream` (everything the first server sends, in order) arriving in pieces
 * cut at `cuts`: after each arrival, advance with all received so far, and again after each send.
 */
function drive(handshake: Handshake, stream: Buffer, cuts: readonly number[] = []): Driven {
  const writes = [handshake.opening];
  for (const n of [...cuts, stream.length]) {
    for (;;) {
      const progress = handshake.advance(stream.subarray(0, n));
      if (progress === NEED_MORE) break;
      if ('done' in progress) return { writes, done: progress.done };
      writes.push(progress.send);
    }
  }
  return { writes };
}

test('two pipelined SOCKS5 hops (login on hop 2): one write holds both handshakes and the early data; one reply stream, split anywhere', () => {
  const c = chain(upstream('a', 'socks5', 1080, { pipelining: 'on' }), upstream('b', 'socks5', 1090, { pipelining: 'on', username: 'bob', password: 'pw' }));
  const early = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  const opening = Buffer.concat([encodeGreeting([AuthMethod.NONE]), connectTo(1090), encodeGreeting([AuthMethod.USERPASS]), login, encodeRequest(Socks5Command.CONNECT, dst), early]);
  const replies = Buffer.concat([noAuth, ok, userPass, encodeUserPassReply(0), ok]);
  const stream = Buffer.concat([replies, relayBytes]);
  for (let at = 0; at <= stream.length; at++) {
    const handshake = new ChainHandshake(c.legs('connect', dst), early);
    assert.equal(handshake.carriesEarlyData, true);
    const driven = drive(handshake, stream, [at]);
    assert.deepEqual(driven.writes, [opening], `split at ${at}`);
    assert.equal(driven.done, replies.length, `split at ${at}`);
  }
  assert.equal(c.takesEarlyData(), true);
});

test('a step-by-step SOCKS5 hop, then HTTP CONNECT: each message waits for the reply before it; the HTTP request goes once hop 1 is through', () => {
  const c = chain(upstream('a', 'socks5', 1080), upstream('h', 'http', 8888));
  const replies = Buffer.concat([noAuth, ok, http200]);
  const stream = Buffer.concat([replies, relayBytes]);
  for (let at = 0; at <= stream.length; at++) {
    const handshake = new ChainHandshake(c.legs('connect', dst), Buffer.from('early'));
    assert.equal(handshake.carriesEarlyData, false, 'tinyproxy-like hops get early data only with pipelining: on');
    const driven = drive(handshake, stream, [at]);
    assert.deepEqual(driven.writes, [encodeGreeting([AuthMethod.NONE]), connectTo(8888), encodeConnectRequest(dst, {})], `split at ${at}`);
    assert.equal(driven.done, replies.length);
  }
});

test('three hops, pipelined → step by step → pipelined: hop 2\'s greeting rides with hop 1\'s request, hop 3\'s opening goes once hop 2 is through', () => {
  const c = chain(upstream('a', 'socks5', 1080, { pipelining: 'on' }), upstream('b', 'socks5', 1090), upstream('d', 'socks5', 1095, { pipelining: 'on' }));
  const early = Buffer.from('hello');
  const handshake = new ChainHandshake(c.legs('connect', dst), early);
  const replies = Buffer.concat([noAuth, ok, noAuth, ok, noAuth, ok]);
  const driven = drive(handshake, replies, [1, 3, 12, 13]);
  assert.deepEqual(driven.writes, [
    Buffer.concat([encodeGreeting([AuthMethod.NONE]), connectTo(1090), encodeGreeting([AuthMethod.NONE])]),
    connectTo(1095),
    Buffer.concat([encodeGreeting([AuthMethod.NONE]), encodeRequest(Socks5Command.CONNECT, dst), early]),
  ]);
  assert.equal(driven.done, replies.length);
});

test('a refusal at hop 2 is an SgError naming the hop; waiting names it too; the hops learn their own outcome', () => {
  const settled: [string, unknown][] = [];
  const leg = (name: string, inner: ChainLeg): ChainLeg => ({ ...inner, settle: (err) => settled.push([name, err]) });
  const a = createOutbound(upstream('a', 'socks5', 1080, { pipelining: 'on' }), testOutboundSettings(), log);
  const b = createOutbound(upstream('b', 'socks5', 1090, { pipelining: 'on' }), testOutboundSettings(), log);
  const spy = (o: Outbound): Outbound => Object.assign(Object.create(o) as Outbound, { leg: (d: SocksAddr, cmd: 'connect') => leg(o.name, o.leg!(d, cmd)) });
  const c = new ChainOutbound('c', [spy(a), spy(b)], testOutboundSettings(), log);
  const handshake = new ChainHandshake(c.legs('connect', dst));
  assert.equal(handshake.advance(Buffer.concat([noAuth, ok])), NEED_MORE);
  assert.equal(handshake.expecting, 'SOCKS5 method selection from c hop 2 (b)');
  let thrown: unknown;
  try {
    handshake.advance(Buffer.concat([noAuth, ok, noAuth, encodeReply(2, bound)]));
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof SgError);
  assert.equal(thrown.code, ErrorCode.UPSTREAM_REFUSED);
  assert.match(thrown.message, /^c hop 2 \(b\): upstream refused: .*not allowed by ruleset/);
  handshake.settle(thrown);
  assert.deepEqual(settled, [['a', undefined], ['b', thrown]]);
});

test('a chain as a hop of another chain: its legs run inline, in order', () => {
  const inner = chain(upstream('a', 'socks5', 1080, { pipelining: 'on' }), upstream('b', 'socks5', 1090, { pipelining: 'on' }));
  const last = createOutbound(upstream('d', 'socks5', 1095, { pipelining: 'on' }), testOutboundSettings(), log);
  const outer = new ChainOutbound('outer', [inner, last], testOutboundSettings(), log);
  assert.deepEqual(outer.server, addrOf('192.0.2.1', 1080));
  const driven = drive(new ChainHandshake(outer.legs('connect', dst)), Buffer.concat([noAuth, ok, noAuth, ok, noAuth, ok]));
  assert.deepEqual(driven.writes, [Buffer.concat([encodeGreeting([AuthMethod.NONE]), connectTo(1090), encodeGreeting([AuthMethod.NONE]), connectTo(1095), encodeGreeting([AuthMethod.NONE]), encodeRequest(Socks5Command.CONNECT, dst)])]);
  assert.equal(driven.done, 6 * 2 + 3 * 8);
});

test('the native dialer gets a plan: hop 1\'s server and the composed handshake', () => {
  const c = chain(upstream('a', 'socks5', 1080, { pipelining: 'on' }), upstream('h', 'http', 8888, { pipelining: 'on' }));
  const plan = c.plan(dst)!;
  assert.deepEqual(plan.server, addrOf('192.0.2.1', 1080));
  assert.deepEqual(plan.handshake.opening, Buffer.concat([encodeGreeting([AuthMethod.NONE]), connectTo(8888), encodeConnectRequest(dst, {})]));
  assert.deepEqual(plan.handshake.advance(Buffer.concat([noAuth, ok, http200])), { done: noAuth.length + ok.length + http200.length });
  plan.settle(undefined);
});

test('UDP through a chain with an HTTP hop is refused as SG_ERR_UDP_UNSUPPORTED before anything is dialed', async () => {
  const c = chain(upstream('a', 'socks5', 1), upstream('h', 'http', 2));
  await assert.rejects(c.associate(addrOf('192.0.2.2', 5000), { onReply() {}, onClose() {} }), (err: SgError) => {
    assert.equal(err.code, ErrorCode.UDP_UNSUPPORTED);
    assert.match(err.message, /h cannot relay UDP/);
    return true;
  });
  await assert.rejects(c.associate(addrOf('192.0.2.2', 5001), { onReply() {}, onClose() {} }), { code: ErrorCode.UDP_UNSUPPORTED, message: 'c does not relay UDP' });
});

/** A first hop that answers for the whole chain: once `expected` bytes came, it sends `replies` and echoes the rest. */
async function scriptedFirstHop(expected: number, replies: Buffer): Promise<{ port: number; received: Promise<Buffer>; close(): void }> {
  const server = createServer((socket) => {
    let got = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (!answered && got.length >= expected) {
        answered = true;
        socket.write(replies);
        resolveReceived(got);
      }
    });
    socket.on('error', () => {});
  });
  let resolveReceived!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (resolveReceived = r));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received, close: () => server.close() };
}

test('dial over a Node socket: the chain connects to hop 1 only, runs both legs, and the relay reads what follows the last reply', async () => {
  const early = Buffer.from('ping');
  const opening = Buffer.concat([encodeGreeting([AuthMethod.NONE]), connectTo(1090), encodeGreeting([AuthMethod.NONE]), encodeRequest(Socks5Command.CONNECT, dst), early]);
  const hop1 = await scriptedFirstHop(opening.length, Buffer.concat([noAuth, ok, noAuth, ok, relayBytes]));
  try {
    const a = { ...upstream('a', 'socks5', hop1.port, { pipelining: 'on' }), server: addrOf('127.0.0.1', hop1.port) };
    const c = chain(a, upstream('b', 'socks5', 1090, { pipelining: 'on' }));
    const socket = await c.dial(dst, { flowId: 1, earlyData: Promise.resolve(early) });
    assert.deepEqual(await hop1.received, opening, 'the handshakes of both hops and the early data, as one stream');
    socket.resume();
    const [first] = (await once(socket, 'data')) as [Buffer];
    assert.deepEqual(first, relayBytes);
    socket.destroy();
  } finally {
    hop1.close();
  }
});
