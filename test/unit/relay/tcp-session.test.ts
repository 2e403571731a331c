// runTcpSession (src/relay/tcp-session.ts): which path a flow takes and how it fails before a dial.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { newFlow } from '../../../src/core/flow.js';
import { AcceptedClient } from '../../../src/inbound/accepted-client.js';
import { createOutbound } from '../../../src/outbound/create.js';
import { Sessions } from '../../../src/relay/sessions.js';
import { relayTcpSpliced } from '../../../src/relay/splice-relay.js';
import { runTcpSession } from '../../../src/relay/tcp-session.js';
import { fakeLogger, fakeObserver } from '../../helpers/flow-spies.js';
import { acceptedPair, clientEnd, closedPort } from '../../helpers/native-accept.js';

const cleanups: (() => unknown)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

test('a destination the outbound cannot carry (IPv6 over SOCKS4) resets the client and is logged once, no throw', { timeout: 10_000 }, async () => {
  const { client, accepted } = await acceptedPair(cleanups);
  const logger = fakeLogger();
  const obs = fakeObserver();
  const sessions = new Sessions();
  const settings = { mark: 0, connectTimeoutMs: 2_000, handshakeTimeoutMs: 2_000 };
  const socks4 = createOutbound({ name: 'v4only', protocol: 'socks4', server: addrOf('127.0.0.1', await closedPort()), pipelining: 'auto' }, settings, logger.log);
  const flow = newFlow({ network: 'tcp', src: accepted.src, dst: addrOf('2001:db8::1', 443), inbound: 'redirect' });
  const ended = clientEnd(client);
  await runTcpSession(flow, new AcceptedClient(accepted.fd), { pickOutbound: () => socks4, idleMs: 0, relay: relayTcpSpliced, native: true, sessions, log: logger.log, observer: obs.observer });
  assert.equal(await ended, 'reset');
  assert.equal(logger.calls.filter((c) => c.level === 'warn').length, 1);
  assert.equal(obs.closed[0]?.end.reason, ErrorCode.UPSTREAM_REFUSED);
  assert.equal(sessions.size, 0);
});
