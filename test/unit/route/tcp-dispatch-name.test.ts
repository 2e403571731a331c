// dispatchTcp (src/route/tcp-dispatch.ts) for a flow to a name on a direct route: the name is
// resolved by the direct resolver, then the flow runs in the addon like one to an address; a name
// that does not resolve and a stop while resolving are answered exactly as on the Node path.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode, SgError, errorCode } from '../../../src/core/errors.js';
import { newFlow } from '../../../src/core/flow.js';
import type { DialAnswer } from '../../../src/adapter/client-conn.js';
import { AcceptedClient } from '../../../src/inbound/accepted-client.js';
import { failureOf } from '../../../src/inbound/socks/reply-code.js';
import { nativeBinding } from '../../../src/native/index.js';
import { DirectOutbound, type DirectResolve } from '../../../src/outbound/direct.js';
import { Sessions } from '../../../src/relay/sessions.js';
import { relayTcpSpliced } from '../../../src/relay/splice-relay.js';
import { dispatchTcp } from '../../../src/route/tcp-dispatch.js';
import { fakeObserver } from '../../helpers/flow-spies.js';
import { acceptedPair } from '../../helpers/native-accept.js';
import { testOutboundSettings } from '../../helpers/outbounds.js';

const T = { timeout: 10_000 };
const cleanups: (() => unknown)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A loopback echo server; `peers` are the addresses it saw connect. */
async function echoServer(): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = net.createServer((s) => {
    peers.push(`${s.remoteAddress}:${s.remotePort}`);
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, peers };
}

function deps(native: boolean) {
  const obs = fakeObserver();
  return { obs, deps: { idleMs: 0, relay: relayTcpSpliced, native, sessions: new Sessions(), log: pino({ level: 'silent' }), observer: obs.observer } };
}

/**
 * A proxy client that records what it was told; its fd is closed once answered, as the inbound's
 * answer does. `socket` is a Node socket only when `nodeSocket` (the Node path).
 */
async function proxyClient(nodeSocket: boolean) {
  const { client, accepted } = await acceptedPair(cleanups);
  const told: unknown[] = [];
  const accepting = new AcceptedClient(accepted.fd);
  let answered!: () => void;
  const done = new Promise<void>((resolve) => (answered = resolve));
  const answer: DialAnswer = {
    connected: async () => void accepting.socket().write('reply;'),
    successReply: () => Buffer.from('reply;'),
    failed: (err) => {
      told.push(err);
      if (nodeSocket) accepting.socket().destroy();
      else nativeBinding().closeFd(accepted.fd);
      answered();
    },
  };
  const conn = { fd: accepted.fd, socket: () => (nodeSocket ? accepting.socket() : assert.fail('no Node socket on the native path')), reset: () => told.push('reset'), answer };
  return { client, accepted, conn, told, done };
}

const directTo = (outbound: DirectOutbound) => () => ({ outbound, rule: 'final → direct', index: -1, action: 'direct' as const });

test('a proxy client to a name on a direct route: the direct resolver is asked, then the addon dials the address and relays (no Node socket)', T, async () => {
  const target = await echoServer();
  const asked: string[] = [];
  const direct = new DirectOutbound(testOutboundSettings(), async (host) => (asked.push(host), '127.0.0.1'));
  const { obs, deps: d } = deps(true);
  const p = await proxyClient(false);
  const name: SocksAddr = { kind: 'domain', host: 'echo.lab.test', port: target.port };
  const flow = newFlow({ network: 'tcp', src: p.accepted.src, dst: name, inbound: 'socks' });
  void dispatchTcp(flow, p.conn, directTo(direct), d);
  p.client.write('ping');
  let text = '';
  while (!text.endsWith('ping')) text += String((await once(p.client, 'data'))[0]);
  assert.equal(text, 'reply;ping');
  assert.deepEqual(asked, ['echo.lab.test']);
  assert.equal(target.peers.length, 1);
  assert.deepEqual(obs.opened, [[flow.id, 'direct', name, 'final → direct']], 'opened once, for the name');
  p.client.end();
  await obs.closedOnce;
  assert.equal(obs.closed[0].end.outcome, 'closed');
  assert.equal(d.sessions.size, 0);
});

test('a name that does not resolve: the same error (so the same reply) on the native path as on the Node path, reported once', T, async () => {
  const notFound: DirectResolve = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.lab.test'), { code: 'ENOTFOUND' }));
  const direct = new DirectOutbound(testOutboundSettings(), notFound);
  const seen: { message: string; reply: string; code: string; closed: number }[] = [];
  for (const native of [true, false]) {
    const { obs, deps: d } = deps(native);
    const p = await proxyClient(!native);
    const flow = newFlow({ network: 'tcp', src: p.accepted.src, dst: { kind: 'domain', host: 'nowhere.lab.test', port: 80 }, inbound: 'socks' });
    await dispatchTcp(flow, p.conn, directTo(direct), d);
    await p.done;
    const [err] = p.told as SgError[];
    seen.push({ message: err.message, reply: failureOf(err), code: errorCode(err), closed: obs.closed.length });
    assert.equal(d.sessions.size, 0);
  }
  assert.deepEqual(seen[0], seen[1]);
  assert.deepEqual(seen[0], { message: 'cannot resolve nowhere.lab.test for a direct connection: ENOTFOUND', reply: 'host-unreachable', code: ErrorCode.UPSTREAM_UNREACHABLE, closed: 1 });
});

test('a stop (drain deadline) while the name is being resolved: the client is answered general failure, and the late address is not dialed', T, async () => {
  const target = await echoServer();
  let lateAnswer!: (address: string) => void;
  const direct = new DirectOutbound(testOutboundSettings(), () => new Promise<string>((resolve) => (lateAnswer = resolve)));
  const { obs, deps: d } = deps(true);
  const p = await proxyClient(false);
  const flow = newFlow({ network: 'tcp', src: p.accepted.src, dst: { kind: 'domain', host: 'slow.lab.test', port: target.port }, inbound: 'socks' });
  const dispatched = dispatchTcp(flow, p.conn, directTo(direct), d);
  assert.equal(d.sessions.size, 1, 'the flow is live while it resolves');
  assert.equal(await d.sessions.drain(1), 1);
  await p.done;
  assert.equal(errorCode(p.told[0]), ErrorCode.SHUTDOWN);
  assert.equal(failureOf(p.told[0]), 'general-failure');
  lateAnswer('127.0.0.1');
  await dispatched;
  assert.equal(target.peers.length, 0);
  assert.equal(p.told.length, 1);
  assert.equal(obs.closed.length, 1);
  assert.equal(d.sessions.size, 0);
});
