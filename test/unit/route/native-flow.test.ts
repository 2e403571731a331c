// runNativeSession (src/relay/native-session.ts) end to end on loopback: a client connects to an
// acceptTcp listener, the accepted fd runs a real SOCKS5 handshake against the in-process fake
// server (test/helpers/fake-socks5.ts) in the addon, then the splice relay.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import { newFlow } from '../../../src/core/flow.js';
import { AcceptedClient } from '../../../src/inbound/accepted-client.js';
import { failureOf } from '../../../src/inbound/socks/reply-code.js';
import { nativeBinding } from '../../../src/native/index.js';
import type { DialPlan } from '../../../src/adapter/handshake.js';
import { Socks5Handshake } from '../../../src/outbound/socks5-handshake.js';
import type { FlowInFlight } from '../../../src/relay/flow-report.js';
import { runNativeSession, type NativeSessionDeps } from '../../../src/route/native-flow.js';
import { Sessions } from '../../../src/relay/sessions.js';
import { startFakeSocks5, type FakeSocks5Options } from '../../helpers/fake-socks5.js';
import { fakeLogger, fakeObserver } from '../../helpers/flow-spies.js';
import { acceptedPair, clientEnd, closedPort } from '../../helpers/native-accept.js';

const T = { timeout: 10_000 };
const TARGET = addrOf('192.0.2.10', 443);

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Everything one session needs, with spies. */
async function setup(reply: FakeSocks5Options['reply']) {
  const fake = await startFakeSocks5({ reply });
  cleanups.push(() => fake.close());
  const { client, accepted } = await acceptedPair(cleanups);
  const settled: unknown[][] = [];
  const plan: DialPlan = {
    server: addrOf('127.0.0.1', fake.port),
    mark: 0,
    connectTimeoutMs: 2_000,
    handshakeTimeoutMs: 2_000,
    handshake: new Socks5Handshake(TARGET, { pipelined: false }),
    settle: (...args: unknown[]) => void settled.push(args),
  };
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: accepted.dst as typeof TARGET, inbound: 'redirect' });
  const f: FlowInFlight = { flow, outbound: 'test', rule: 'final → test', target: TARGET, startedAt: Date.now() };
  const sessions = new Sessions();
  const logger = fakeLogger();
  const obs = fakeObserver();
  const deps: NativeSessionDeps = { sessions, log: logger.log, observer: obs.observer, idleMs: 0 };
  return { fake, client, accepted, plan, settled, flow, f, sessions, logger, obs, deps };
}

test('SOCKS5 success: the client gets the echo, settle(undefined) once, observer opened then closed', T, async () => {
  const s = await setup('echo');
  runNativeSession(s.f, new AcceptedClient(s.accepted.fd), s.plan, s.deps);
  assert.deepEqual(s.obs.opened, [[s.flow.id, 'test', TARGET, 'final → test']]);
  assert.equal(s.sessions.size, 1);

  s.client.write('hello');
  const [echo] = (await once(s.client, 'data')) as [Buffer];
  assert.equal(String(echo), 'hello');
  assert.deepEqual(s.settled, [[undefined]]);
  assert.equal(s.sessions.size, 1);
  assert.equal(s.obs.closed.length, 0);
  // One connection to the proxy.
  assert.equal(s.fake.reads.length, 1);

  // Client ends, the server (not half-open) ends back: both ends closed.
  s.client.end();
  await once(s.client, 'end');
  await s.obs.closedOnce;
  assert.deepEqual(s.obs.closed, [{ flowId: s.flow.id, outbound: 'test', end: { outcome: 'closed', reason: undefined, bytesUp: 5, bytesDown: 5 } }]);
  assert.equal(s.sessions.size, 0);
  assert.deepEqual(s.settled, [[undefined]]);
  assert.deepEqual(s.logger.calls.filter((c) => c.level === 'warn'), []);
});

test('SOCKS5 garbage reply: client reset, settle once with MALFORMED_REPLY, one warning', T, async () => {
  const s = await setup('garbage');
  const ended = clientEnd(s.client);
  runNativeSession(s.f, new AcceptedClient(s.accepted.fd), s.plan, s.deps);
  assert.equal(await ended, 'reset');
  await s.obs.closedOnce;

  assert.equal(s.settled.length, 1);
  const [err] = s.settled[0];
  assert.ok(err instanceof SgError, `settled with ${String(err)}`);
  assert.equal(err.code, ErrorCode.MALFORMED_REPLY);
  assert.equal(err.code, 'SG_ERR_MALFORMED_REPLY');

  const warns = s.logger.calls.filter((c) => c.level === 'warn');
  assert.equal(warns.length, 1);
  const [fields, message] = warns[0].args as [Record<string, unknown>, string];
  assert.equal(fields.reason, 'SG_ERR_MALFORMED_REPLY');
  assert.equal(fields.flowId, s.flow.id);
  assert.equal(fields.outbound, 'test');
  assert.match(message, /^flow failed: /);

  assert.deepEqual(s.obs.closed, [{ flowId: s.flow.id, outbound: 'test', end: { outcome: 'failed', reason: 'SG_ERR_MALFORMED_REPLY', bytesUp: 0, bytesDown: 0 } }]);
  assert.equal(s.sessions.size, 0);
});

test('a refused connect: settle once with UPSTREAM_UNREACHABLE, client reset, sessions empty', T, async () => {
  const s = await setup('echo');
  const plan = { ...s.plan, server: addrOf('127.0.0.1', await closedPort()) };
  const ended = clientEnd(s.client);
  runNativeSession(s.f, new AcceptedClient(s.accepted.fd), plan, s.deps);
  assert.equal(await ended, 'reset');
  await s.obs.closedOnce;
  assert.equal(s.settled.length, 1);
  assert.equal((s.settled[0][0] as SgError).code, ErrorCode.UPSTREAM_UNREACHABLE);
  assert.match((s.settled[0][0] as SgError).message, /ECONNREFUSED/);
  assert.equal(s.logger.calls.filter((c) => c.level === 'warn').length, 1);
  assert.equal(s.sessions.size, 0);
});

test('stopping the session during the handshake: settle once with SHUTDOWN, client reset', T, async () => {
  const s = await setup('silent');
  const ended = clientEnd(s.client);
  runNativeSession(s.f, new AcceptedClient(s.accepted.fd), s.plan, s.deps);
  // Wait until the server has the request, so the dial is mid-handshake.
  while (s.fake.reads.length === 0 || Buffer.concat(s.fake.reads[0]).length < 3 + 10) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await s.sessions.drain(1), 1);
  assert.equal(await ended, 'reset');
  assert.equal(s.settled.length, 1);
  assert.equal((s.settled[0][0] as SgError).code, ErrorCode.SHUTDOWN);
  assert.equal(s.obs.closed.length, 1);
  assert.equal(s.obs.closed[0].end.outcome, 'failed');
  assert.equal(s.sessions.size, 0);
});

/** A plan whose `retry` runs `next` (once) on the same client, as a group's does. */
function retrying(plan: DialPlan, next: DialPlan | undefined): DialPlan {
  let retried = false;
  return { ...plan, retry: () => (retried ? undefined : ((retried = true), next)) };
}

test('a retrying plan that fails before the relay (connect refused, a garbage reply) leaves the client open: the next plan carries the same flow', T, async () => {
  for (const first of ['refused', 'garbage'] as const) {
    const s = await setup('echo');
    const garbage = await startFakeSocks5({ reply: 'garbage' });
    cleanups.push(() => garbage.close());
    // A handshake of its own, as each member's plan has: the good plan's must not have seen the garbage.
    const bad = { ...s.plan, server: addrOf('127.0.0.1', first === 'refused' ? await closedPort() : garbage.port), handshake: new Socks5Handshake(TARGET, { pipelined: false }) };
    runNativeSession(s.f, new AcceptedClient(s.accepted.fd), retrying(bad, s.plan), s.deps);
    s.client.write('hello');
    const [echo] = (await once(s.client, 'data')) as [Buffer];
    assert.equal(String(echo), 'hello', first);
    assert.equal(s.settled.length, 2, 'each plan settled once');
    assert.equal((s.settled[0][0] as SgError).code, first === 'refused' ? ErrorCode.UPSTREAM_UNREACHABLE : ErrorCode.MALFORMED_REPLY);
    assert.deepEqual(s.settled[1], [undefined]);
    assert.deepEqual(s.logger.calls.filter((c) => c.level === 'warn'), [], 'the first failure is not the flow\'s');
    s.client.destroy();
  }
});

test('a retrying plan with nothing left to retry: the client is reset and the failure reported once', T, async () => {
  const s = await setup('echo');
  const ended = clientEnd(s.client);
  runNativeSession(s.f, new AcceptedClient(s.accepted.fd), retrying({ ...s.plan, server: addrOf('127.0.0.1', await closedPort()) }, undefined), s.deps);
  assert.equal(await ended, 'reset');
  assert.equal(s.logger.calls.filter((c) => c.level === 'warn').length, 1);
  assert.equal(s.sessions.size, 0);
});

test('stopping the session of a proxy client mid-dial: answered with SHUTDOWN (general failure, as the Node path\'s aborted dial), not reset, not retried', T, async () => {
  const s = await setup('silent');
  const told: unknown[] = [];
  const answered = new Promise<void>((resolve) => {
    const answer = {
      connected: () => Promise.reject(new Error('not on the native path')),
      successReply: () => Buffer.from('reply;'),
      failed: (err: unknown) => {
        told.push(err);
        // The client was left open to be answered: the inbound writes its reply and closes it.
        nativeBinding().closeFd(s.accepted.fd);
        resolve();
      },
    };
    const conn = { fd: s.accepted.fd, socket: () => assert.fail('no Node socket'), reset: () => told.push('reset'), answer };
    runNativeSession(s.f, conn, retrying(s.plan, { ...s.plan, server: addrOf('127.0.0.1', 1) }), s.deps);
  });
  const ended = clientEnd(s.client);
  while (s.fake.reads.length === 0 || Buffer.concat(s.fake.reads[0]).length < 3 + 10) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await s.sessions.drain(1), 1);
  await answered;
  assert.equal(await ended, 'closed', 'closed after the answer, not reset');
  assert.equal(told.length, 1);
  assert.equal((told[0] as SgError).code, ErrorCode.SHUTDOWN);
  assert.equal(failureOf(told[0]), 'general-failure');
  assert.equal(s.settled.length, 1, 'the next plan never ran');
  assert.equal(s.obs.closed.length, 1);
  assert.equal(s.sessions.size, 0);
});
