import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { pino } from 'pino';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { encodeSocks4Reply, encodeSocks4Request } from '../../../src/codec/socks4.js';
import { AuthMethod, Socks5Command, encodeGreeting, encodeMethodSelection, encodeReply, encodeRequest, encodeUserPassReply, encodeUserPassRequest } from '../../../src/codec/socks5.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { handshakeFailure } from '../../../src/outbound/handshake.js';
import type { Handshake, HandshakeProgress } from '../../../src/adapter/handshake.js';
import { httpConnectHandshake } from '../../../src/outbound/http-connect.js';
import { SingleRequestOutbound } from '../../../src/outbound/single-request.js';
import { runHandshake } from '../../../src/outbound/socket-handshake.js';
import { socks4Handshake } from '../../../src/outbound/socks4.js';
import { Socks5Outbound } from '../../../src/outbound/socks5.js';
import { Socks5Handshake } from '../../../src/outbound/socks5-handshake.js';
import { socketPair } from '../../helpers/socket-pair.js';
import { noUdp } from '../../helpers/outbounds.js';

const dst: SocksAddr = { kind: 'ipv4', host: '203.0.113.10', port: 80 };
const bound: SocksAddr = { kind: 'ipv4', host: '192.0.2.7', port: 4242 };
const credentials = { username: 'alice', password: 'pw' };
const relayBytes = Buffer.from('relay bytes');
const settings = { mark: 7, connectTimeoutMs: 1_000, handshakeTimeoutMs: 2_000 };
const log = pino({ level: 'silent' });

/**
 * Feeds `replies` (then the relay's bytes) one byte more at a time to a fresh handshake, the way a
 * driver passes everything received so far; asserts NEED_MORE up to the last reply byte, then done.
 */
function feedByteByByte(make: () => Handshake, replies: Buffer): void {
  const all = Buffer.concat([replies, relayBytes]);
  const handshake = make();
  for (let n = 1; n < replies.length; n++) assert.equal(handshake.advance(all.subarray(0, n)), NEED_MORE, `after ${n} bytes`);
  assert.deepEqual(handshake.advance(all), { done: replies.length });
}

/** Feeds `replies` + relay bytes split once at every boundary: the first part, then everything. */
function feedSplitAnywhere(make: () => Handshake, replies: Buffer): void {
  const all = Buffer.concat([replies, relayBytes]);
  for (let at = 1; at < replies.length; at++) {
    const handshake = make();
    assert.equal(handshake.advance(all.subarray(0, at)), NEED_MORE, `split at ${at}`);
    assert.deepEqual(handshake.advance(all), { done: replies.length }, `split at ${at}`);
  }
}

const socks5Replies = Buffer.concat([encodeMethodSelection(AuthMethod.USERPASS), encodeUserPassReply(0), encodeReply(0, bound)]);

test('socks5 pipelined with login: opening is greeting, login, request and early data in one buffer', () => {
  const early = Buffer.from('GET /');
  const handshake = new Socks5Handshake(dst, { credentials, pipelined: true, earlyData: early });
  const expected = Buffer.concat([encodeGreeting([AuthMethod.USERPASS]), encodeUserPassRequest('alice', 'pw'), encodeRequest(Socks5Command.CONNECT, dst), early]);
  assert.deepEqual(handshake.opening, expected);
  assert.equal(handshake.expecting, 'SOCKS5 method selection');
});

test('socks5 pipelined with login: replies at any split give NEED_MORE until complete, then done without the relay bytes', () => {
  const make = () => new Socks5Handshake(dst, { credentials, pipelined: true });
  feedByteByByte(make, socks5Replies);
  feedSplitAnywhere(make, socks5Replies);
  const handshake = make();
  handshake.advance(socks5Replies);
  assert.deepEqual(handshake.bound, bound);
});

test('socks5 pipelined: the stage follows the replies that arrived', () => {
  const handshake = new Socks5Handshake(dst, { credentials, pipelined: true });
  assert.equal(handshake.advance(socks5Replies.subarray(0, 2)), NEED_MORE);
  assert.equal(handshake.stage, 'auth');
  assert.equal(handshake.expecting, 'SOCKS5 login reply');
  assert.equal(handshake.advance(socks5Replies.subarray(0, 4)), NEED_MORE);
  assert.equal(handshake.stage, 'reply');
});

test('socks5 step by step: greeting first, then {send: login}, then {send: request}, then done', () => {
  const handshake = new Socks5Handshake(dst, { credentials, pipelined: false });
  assert.deepEqual(handshake.opening, encodeGreeting([AuthMethod.NONE, AuthMethod.USERPASS]));
  assert.deepEqual(handshake.advance(socks5Replies.subarray(0, 2)), { send: encodeUserPassRequest('alice', 'pw') });
  assert.equal(handshake.advance(socks5Replies.subarray(0, 3)), NEED_MORE);
  assert.deepEqual(handshake.advance(socks5Replies.subarray(0, 4)), { send: encodeRequest(Socks5Command.CONNECT, dst) });
  assert.deepEqual(handshake.advance(Buffer.concat([socks5Replies, relayBytes])), { done: socks5Replies.length });
  assert.deepEqual(handshake.bound, bound);
});

test('socks5 step by step: a server choosing no login is sent the request next', () => {
  const handshake = new Socks5Handshake(dst, { credentials, pipelined: false, command: Socks5Command.UDP_ASSOCIATE });
  assert.deepEqual(handshake.advance(encodeMethodSelection(AuthMethod.NONE)), { send: encodeRequest(Socks5Command.UDP_ASSOCIATE, dst) });
  assert.equal(handshake.stage, 'reply');
});

test('socks5 early data needs a pipelined handshake', () => {
  assert.throws(() => new Socks5Handshake(dst, { pipelined: false, earlyData: Buffer.from('x') }), RangeError);
});

test('socks5 refusals throw the catalogued code at the stage they happen', () => {
  const cases: [Socks5Handshake, Buffer, string, RegExp, string][] = [
    [new Socks5Handshake(dst, { credentials, pipelined: true }), encodeMethodSelection(0xff), ErrorCode.AUTH_FAILED, /no username\/password login/, 'method'],
    [new Socks5Handshake(dst, { pipelined: true }), encodeMethodSelection(0xff), ErrorCode.AUTH_REQUIRED, /requires authentication/, 'method'],
    [new Socks5Handshake(dst, { pipelined: true }), encodeMethodSelection(AuthMethod.USERPASS), ErrorCode.MALFORMED_REPLY, /method 0x2, which was not offered/, 'method'],
    [new Socks5Handshake(dst, { pipelined: true }), Buffer.from('HTTP/1.0 400'), ErrorCode.MALFORMED_REPLY, /^malformed SOCKS5 method selection: /, 'method'],
    [new Socks5Handshake(dst, { credentials, pipelined: true }), Buffer.from([5, 2, 1, 1]), ErrorCode.AUTH_FAILED, /rejected the username\/password/, 'auth'],
    [new Socks5Handshake(dst, { pipelined: true }), Buffer.concat([encodeMethodSelection(0), encodeReply(5, bound)]), ErrorCode.UPSTREAM_REFUSED, /^upstream refused: .*REP=5/, 'reply'],
  ];
  for (const [handshake, replies, code, message, stage] of cases) {
    assert.throws(() => handshake.advance(replies), { code, message });
    assert.equal(handshake.stage, stage);
  }
});

test('socks4: opening is the request and early data; one reply, at any split', () => {
  const early = Buffer.from('hello');
  const handshake = socks4Handshake('u', false)(dst, early);
  assert.deepEqual(handshake.opening, Buffer.concat([encodeSocks4Request({ command: 1, addr: dst, userId: 'u' }), early]));
  const make = () => socks4Handshake('u', false)(dst);
  const reply = encodeSocks4Reply(0x5a);
  feedByteByByte(make, reply);
  feedSplitAnywhere(make, reply);
});

test('socks4: refusal, and destinations it cannot carry throw before anything is sent', () => {
  assert.throws(() => socks4Handshake('u', false)(dst).advance(encodeSocks4Reply(0x5b)), { code: ErrorCode.UPSTREAM_REFUSED, message: /^upstream refused/ });
  assert.throws(() => socks4Handshake('u', true)({ kind: 'ipv6', host: '2001:db8::1', port: 80 }), { code: ErrorCode.UPSTREAM_REFUSED, message: /IPv6/ });
  assert.throws(() => socks4Handshake('u', false)({ kind: 'domain', host: 'example.test', port: 80 }), { code: ErrorCode.UPSTREAM_REFUSED, message: /socks4a/ });
  assert.ok(socks4Handshake('u', true)({ kind: 'domain', host: 'example.test', port: 80 }).opening.includes('example.test'));
});

test('http connect: one response, at any split; refusals by status', () => {
  const make = () => httpConnectHandshake()(dst);
  const ok = Buffer.from('HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n');
  feedByteByByte(make, ok);
  feedSplitAnywhere(make, ok);
  const auth = { username: 'a', password: 'b' };
  assert.throws(() => make().advance(Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n')), { code: ErrorCode.AUTH_REQUIRED });
  assert.throws(() => httpConnectHandshake(auth)(dst).advance(Buffer.from('HTTP/1.1 401 Unauthorized\r\n\r\n')), { code: ErrorCode.AUTH_FAILED });
  assert.throws(() => make().advance(Buffer.from('HTTP/1.1 403 Forbidden\r\n\r\n')), { code: ErrorCode.UPSTREAM_REFUSED, message: /^upstream refused/ });
  assert.throws(() => make().advance(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), { code: ErrorCode.MALFORMED_REPLY, message: /^malformed HTTP CONNECT response: / });
});

test('handshakeFailure names what the handshake was waiting for', () => {
  const handshake = new Socks5Handshake(dst, { pipelined: false });
  const cases: [Parameters<typeof handshakeFailure>[0], string, string][] = [
    ['timeout', ErrorCode.HANDSHAKE_TIMEOUT, 'no SOCKS5 method selection within 1500 ms'],
    ['eof', ErrorCode.UPSTREAM_CLOSED, 'upstream closed the connection instead of sending SOCKS5 method selection'],
    ['aborted', ErrorCode.ABORTED, 'client went away during the handshake'],
    ['socket', ErrorCode.UPSTREAM_RESET, 'upstream connection failed while waiting for SOCKS5 method selection: read ECONNRESET'],
  ];
  for (const [reason, code, message] of cases) {
    const err = handshakeFailure(reason, handshake, 1_500, new Error('read ECONNRESET'));
    assert.equal(err.code, code);
    assert.equal(err.message, message);
  }
});

test('runHandshake: step by step over a socket, relay bytes stay in the socket, no listener left behind', async () => {
  const [near, far] = await socketPair();
  near.pause();
  const listeners = () => ['readable', 'end', 'close', 'error'].map((e) => near.listenerCount(e));
  const before = listeners();
  const server = (async () => {
    for (const [reply, length] of [[encodeMethodSelection(AuthMethod.USERPASS), 4], [encodeUserPassReply(0), 10]] as const) {
      const [got] = (await once(far, 'data')) as [Buffer];
      assert.equal(got.length, length);
      far.write(reply);
    }
    await once(far, 'data');
    far.write(Buffer.concat([encodeReply(0, bound), relayBytes]));
  })();
  const handshake = new Socks5Handshake(dst, { credentials, pipelined: false });
  await runHandshake(near, handshake, { timeoutMs: 2_000 });
  await server;
  assert.deepEqual(handshake.bound, bound);
  assert.deepEqual(listeners(), before);
  near.resume();
  const rest: Buffer[] = [];
  near.on('data', (c: Buffer) => rest.push(c));
  far.end();
  await once(near, 'end');
  assert.deepEqual(Buffer.concat(rest), relayBytes);
  near.destroy();
});

test('runHandshake: timeout, close and abort become catalogued errors naming the awaited reply', async () => {
  {
    const [near, far] = await socketPair();
    near.pause();
    await assert.rejects(runHandshake(near, new Socks5Handshake(dst, { pipelined: true }), { timeoutMs: 50 }), {
      code: ErrorCode.HANDSHAKE_TIMEOUT,
      message: 'no SOCKS5 method selection within 50 ms',
    });
    near.destroy();
    far.destroy();
  }
  {
    const [near, far] = await socketPair();
    near.pause();
    far.on('data', () => far.end(encodeMethodSelection(AuthMethod.USERPASS)));
    const handshake = new Socks5Handshake(dst, { credentials, pipelined: true });
    await assert.rejects(runHandshake(near, handshake, { timeoutMs: 2_000 }), {
      code: ErrorCode.UPSTREAM_CLOSED,
      message: 'upstream closed the connection instead of sending SOCKS5 login reply',
    });
    near.destroy();
  }
  {
    const [near, far] = await socketPair();
    near.pause();
    const controller = new AbortController();
    const running = runHandshake(near, socks4Handshake('', false)(dst), { timeoutMs: 2_000, signal: controller.signal });
    controller.abort();
    await assert.rejects(running, { code: ErrorCode.ABORTED });
    near.destroy();
    far.destroy();
  }
});

test('plan: the same handshake as data, with the dial settings; undefined for a server named by host', () => {
  const server: SocksAddr = { kind: 'ipv4', host: '127.0.0.1', port: 1080 };
  const socks5 = new Socks5Outbound({ name: 's5', protocol: 'socks5', server, pipelining: 'on', ...credentials }, settings, log, () => ({ name: 's5', associate: noUdp }));
  const plan = socks5.plan(dst);
  assert.ok(plan);
  assert.deepEqual({ ...plan, handshake: undefined, settle: undefined }, { server, ...settings, handshake: undefined, settle: undefined });
  assert.deepEqual(plan.handshake.opening, new Socks5Handshake(dst, { credentials, pipelined: true }).opening);
  const named = new Socks5Outbound({ name: 's5', protocol: 'socks5', server: { kind: 'domain', host: 'proxy.test', port: 1080 }, pipelining: 'on' }, settings, log, () => ({ name: 's5', associate: noUdp }));
  assert.equal(named.plan(dst), undefined);

  const socks4 = new SingleRequestOutbound({ name: 's4', protocol: 'socks4', server, pipelining: 'auto' }, settings, socks4Handshake('', false), { name: 's4', associate: noUdp });
  assert.deepEqual(socks4.plan(dst)?.handshake.opening, encodeSocks4Request({ command: 1, addr: dst, userId: '' }));
  assert.throws(() => socks4.plan({ kind: 'ipv6', host: '::1', port: 80 }), { code: ErrorCode.UPSTREAM_REFUSED });
});

test('plan settle teaches what a failed dial teaches: a silent pipelined server is learned again', () => {
  const server: SocksAddr = { kind: 'ipv4', host: '127.0.0.1', port: 1080 };
  const socks5 = new Socks5Outbound({ name: 's5', protocol: 'socks5', server, pipelining: 'auto' }, settings, log, () => ({ name: 's5', associate: noUdp }));
  let forgotten = 0;
  socks5.pipelining.forget = () => void forgotten++;
  // Not learned yet in auto mode: stepwise, so a timeout teaches nothing about pipelining.
  socks5.pipelining.learn = () => {};
  const stepwise = socks5.plan(dst)!;
  stepwise.settle(handshakeFailure('timeout', stepwise.handshake, 1));
  assert.equal(forgotten, 0);
  stepwise.settle(Object.assign(new Error('x'), { code: ErrorCode.UPSTREAM_UNREACHABLE }));
  assert.equal(forgotten, 1);

  const pipelinedOut = new Socks5Outbound({ name: 's5', protocol: 'socks5', server, pipelining: 'on' }, settings, log, () => ({ name: 's5', associate: noUdp }));
  pipelinedOut.pipelining.forget = () => void forgotten++;
  const pipelined = pipelinedOut.plan(dst)!;
  pipelined.settle(handshakeFailure('timeout', pipelined.handshake, 1));
  assert.equal(forgotten, 1, 'silent at the method stage tells nothing');
  const progress: HandshakeProgress = pipelined.handshake.advance(encodeMethodSelection(AuthMethod.NONE));
  assert.equal(progress, NEED_MORE);
  pipelined.settle(handshakeFailure('timeout', pipelined.handshake, 1));
  assert.equal(forgotten, 2);
  pipelined.settle(undefined);
  assert.equal(forgotten, 2);
});
