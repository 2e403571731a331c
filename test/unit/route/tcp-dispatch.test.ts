// dispatchTcp (src/route/tcp-dispatch.ts): which path a flow takes and how it fails before or at the relay.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { newFlow } from '../../../src/core/flow.js';
import { AcceptedClient } from '../../../src/inbound/accepted-client.js';
import { nativeBinding } from '../../../src/native/index.js';
import { DirectOutbound } from '../../../src/outbound/direct.js';
import { createOutbound } from '../../../src/outbound/registry.js';
import type { DialAnswer } from '../../../src/adapter/client-conn.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import net from 'node:net';
import { once } from 'node:events';
import { Sessions } from '../../../src/relay/sessions.js';
import { relayTcpSpliced } from '../../../src/relay/splice-relay.js';
import { dispatchTcp } from '../../../src/route/tcp-dispatch.js';
import { startFakeSocks5 } from '../../helpers/fake-socks5.js';
import { fakeLogger, fakeObserver } from '../../helpers/flow-spies.js';
import { acceptedPair, clientEnd, closedPort } from '../../helpers/native-accept.js';
import { noUdp, testOutboundSettings } from '../../helpers/outbounds.js';
import { socketPair } from '../../helpers/socket-pair.js';
import type { Outbound } from '../../../src/adapter/outbound.js';

const cleanups: (() => unknown)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

test('a destination the outbound cannot carry (IPv6 over SOCKS4) resets the client and is logged once, no throw', { timeout: 10_000 }, async () => {
  const { client, accepted } = await acceptedPair(cleanups);
  const logger = fakeLogger();
  const obs = fakeObserver();
  const sessions = new Sessions();
  const socks4 = createOutbound({ name: 'v4only', protocol: 'socks4', server: addrOf('127.0.0.1', await closedPort()), pipelining: 'auto' }, testOutboundSettings(), logger.log);
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: addrOf('2001:db8::1', 443), inbound: 'redirect' });
  const ended = clientEnd(client);
  await dispatchTcp(flow, new AcceptedClient(accepted.fd), () => ({ outbound: socks4, rule: 'final → v4only', index: -1, action: 'upstream' }), { idleMs: 0, relay: relayTcpSpliced, native: true, sessions, log: logger.log, observer: obs.observer });
  assert.equal(await ended, 'reset');
  assert.equal(logger.calls.filter((c) => c.level === 'warn').length, 1);
  assert.equal(obs.closed[0]?.end.reason, ErrorCode.UPSTREAM_REFUSED);
  assert.deepEqual(obs.opened[0], [flow.id, 'v4only', flow.dst, 'final → v4only'], 'the observer hears the rule');
  assert.equal(sessions.size, 0);
});

test('a relay that cannot start (EMFILE on the Node socket path) fails that flow only: client reset, upstream closed, logged once, no rejection', { timeout: 10_000 }, async () => {
  const upstream = await startFakeSocks5({ reply: 'echo' });
  cleanups.push(() => upstream.close());
  const { client, accepted } = await acceptedPair(cleanups);
  const logger = fakeLogger();
  const obs = fakeObserver();
  const sessions = new Sessions();
  const socks5 = createOutbound({ name: 'fake', protocol: 'socks5', server: addrOf('127.0.0.1', upstream.port), pipelining: 'off' }, testOutboundSettings(), pino({ level: 'silent' }));
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: addrOf('198.51.100.2', 80), inbound: 'redirect' });
  const ended = clientEnd(client);
  const emfile = () => {
    throw Object.assign(new Error('dup: too many open files'), { code: 'EMFILE' });
  };
  // native: false takes the Node socket path, as sniffing, optimistic data or a named upstream do.
  await dispatchTcp(flow, new AcceptedClient(accepted.fd), () => ({ outbound: socks5, rule: 'final → fake', index: -1, action: 'upstream' }), { idleMs: 0, relay: emfile, native: false, sessions, log: logger.log, observer: obs.observer });
  assert.equal(await ended, 'reset');
  assert.equal(logger.calls.filter((c) => c.level === 'warn').length, 1);
  assert.equal(obs.closed[0]?.end.reason, 'EMFILE');
  assert.deepEqual(obs.opened[0], [flow.id, 'fake', flow.dst, 'final → fake'], 'the observer hears the rule');
  assert.equal(sessions.size, 0);
});

test('a client gone while the dial finishes: the upstream is closed and the flow reported, no throw (found by the live fuzz)', { timeout: 10_000 }, async () => {
  const { client, accepted } = await acceptedPair(cleanups);
  const conn = new AcceptedClient(accepted.fd);
  const [upstream, server] = await socketPair();
  cleanups.push(() => server.destroy());
  server.on('error', () => {});
  const serverEnded = new Promise((resolve) => server.once('close', resolve));
  const obs = fakeObserver();
  const sessions = new Sessions();
  // The client leaves just as the upstream is ready: its socket no longer has a descriptor to splice.
  const outbound: Outbound = {
    name: 'fake',
    server: addrOf('127.0.0.1', 1),
    associate: noUdp,
    async dial() {
      conn.socket().destroy();
      await new Promise((resolve) => setImmediate(resolve));
      return upstream;
    },
  };
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: addrOf('192.0.2.7', 80), inbound: 'redirect' });
  client.resume();
  const decide = () => ({ outbound, rule: 'final → fake', index: -1, action: 'upstream' as const });
  await dispatchTcp(flow, conn, decide, { idleMs: 0, relay: relayTcpSpliced, native: false, sessions, log: fakeLogger().log, observer: obs.observer });
  await serverEnded;
  assert.equal(obs.closed[0]?.end.reason, ErrorCode.CLIENT_RESET);
  assert.equal(sessions.size, 0);
});

test('a client to answer (proxy inbound): told the outcome instead of reset, the success before the relay starts, never the native path', { timeout: 10_000 }, async () => {
  const upstream = await startFakeSocks5({ reply: 'echo' });
  cleanups.push(() => upstream.close());
  const socks5 = createOutbound({ name: 'fake', protocol: 'socks5', server: addrOf('127.0.0.1', upstream.port), pipelining: 'off' }, testOutboundSettings(), pino({ level: 'silent' }));
  const deps = { idleMs: 0, relay: relayTcpSpliced, native: true, sessions: new Sessions(), log: pino({ level: 'silent' }) };
  const { client, accepted } = await acceptedPair(cleanups);
  const told: string[] = [];
  const conn = new AcceptedClient(accepted.fd);
  const answered = {
    fd: accepted.fd,
    socket: () => conn.socket(),
    reset: () => told.push('reset'),
    answer: {
      connected: async (bound: unknown) => {
        told.push(`connected ${JSON.stringify(bound && typeof bound === 'object' && 'host' in bound ? (bound as { host: string }).host : bound)}`);
        conn.socket().write('reply;');
      },
      failed: (err: unknown) => told.push(`failed ${(err as { code: string }).code}`),
    },
  };
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: addrOf('198.51.100.2', 80), inbound: 'socks', user: 'alice' });
  const echoed = new Promise<string>((resolve) => {
    let text = '';
    client.on('data', (d: Buffer) => {
      text += String(d);
      if (text.endsWith('ping')) resolve(text);
    });
  });
  // Not awaited: it settles when the relay ends.
  void dispatchTcp(flow, answered, () => ({ outbound: socks5, rule: 'final → fake', index: -1, action: 'upstream' }), deps);
  client.write('ping');
  assert.equal(await echoed, 'reply;ping', 'the reply comes first, then the relayed bytes');
  assert.deepEqual(told, ['connected "127.0.0.1"']);
  client.destroy();

  const refused = await acceptedPair(cleanups);
  const refusedConn = new AcceptedClient(refused.accepted.fd);
  const failures: string[] = [];
  const reject = createOutbound({ name: 'gone', protocol: 'socks5', server: addrOf('127.0.0.1', await closedPort()), pipelining: 'off' }, testOutboundSettings(), pino({ level: 'silent' }));
  await dispatchTcp(flow, { fd: refused.accepted.fd, socket: () => refusedConn.socket(), reset: () => failures.push('reset'), answer: { connected: async () => undefined, failed: (err) => failures.push((err as { code: string }).code) } }, () => ({ outbound: reject, rule: 'final → gone', index: -1, action: 'upstream' }), deps);
  assert.deepEqual(failures, [ErrorCode.UPSTREAM_UNREACHABLE]);
});

/** A loopback server that greets each connection with `greeting` (a server that speaks first), then echoes. */
async function greetingEcho(greeting: string): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = net.createServer((s) => {
    peers.push(`${s.remoteAddress}:${s.remotePort}`);
    s.on('error', () => {});
    s.write(greeting);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, peers };
}

test('a client answered with bytes (proxy inbound) to a direct address runs in the addon: the reply names the upstream socket\'s address and comes first, the early bytes go up first, a server that speaks first is not waited for', { timeout: 10_000 }, async () => {
  const target = await greetingEcho('hello;');
  const direct = new DirectOutbound(testOutboundSettings());
  const obs = fakeObserver();
  const deps = { idleMs: 0, relay: relayTcpSpliced, native: true, sessions: new Sessions(), log: pino({ level: 'silent' }), observer: obs.observer };
  const { client, accepted } = await acceptedPair(cleanups);
  const told: string[] = [];
  const answer: DialAnswer = {
    connected: () => Promise.reject(new Error('the Node path answers with connected, the native one must not')),
    successReply: (bound: SocksAddr | undefined) => {
      told.push(`reply ${bound?.host}:${bound?.port}`);
      return Buffer.from('reply;');
    },
    failed: (err: unknown) => void told.push(`failed ${(err as { code: string }).code}`),
  };
  const conn = { fd: accepted.fd, socket: () => assert.fail('no Node socket on the native path'), reset: () => told.push('reset'), answer, unsent: Buffer.from('early;') };
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: addrOf('127.0.0.1', target.port), inbound: 'socks' });
  let text = '';
  const got = (want: string) =>
    new Promise<void>((resolve) => {
      const check = () => (text.endsWith(want) ? resolve() : client.once('data', (d: Buffer) => ((text += String(d)), check())));
      check();
    });
  void dispatchTcp(flow, conn, () => ({ outbound: direct, rule: 'final → direct', index: -1, action: 'direct' }), deps);
  await got('hello;early;');
  assert.equal(text, 'reply;hello;early;', 'the reply first, then the server\'s greeting, then the echo of the early bytes');
  client.write('ping');
  await got('ping');
  assert.deepEqual(told, [`reply ${target.peers[0]}`], 'the reply names the local address of the connection the target saw');
  assert.equal(deps.sessions.size, 1);
  client.end();
  await obs.closedOnce;
  assert.deepEqual(obs.closed.map((c) => c.end.bytesUp), [10]);

  // A refused connect: answered (REP 5 would name ECONNREFUSED), not reset.
  const refused = await acceptedPair(cleanups);
  const failures: string[] = [];
  const closed = once(refused.client, 'close');
  let answered!: () => void;
  const failedOnce = new Promise<void>((resolve) => (answered = resolve));
  const refusedAnswer: DialAnswer = {
    ...answer,
    failed: (err) => {
      failures.push((err as { code: string; cause?: { code: string } }).cause?.code ?? 'none');
      // The client was left open to be answered; this fake answers by closing it.
      nativeBinding().closeFd(refused.accepted.fd);
      answered();
    },
  };
  const refusedConn = { fd: refused.accepted.fd, socket: () => assert.fail('no Node socket'), reset: () => failures.push('reset'), answer: refusedAnswer };
  await dispatchTcp(newFlow({ network: 'tcp', src: refused.accepted.src, dst: addrOf('127.0.0.1', await closedPort()), inbound: 'socks' }), refusedConn, () => ({ outbound: direct, rule: 'final → direct', index: -1, action: 'direct' }), deps);
  await failedOnce;
  assert.deepEqual(failures, ['ECONNREFUSED']);
  refused.client.destroy();
  await closed;
});
