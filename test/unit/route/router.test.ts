// FlowRouter (src/route/router.ts): each TCP flow and each UDP datagram is decided once, the
// decision told to the observer (metrics), rejected datagrams dropped and counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientConn } from '../../../src/adapter/client-conn.js';
import type { Outbound } from '../../../src/adapter/outbound.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';
import { validateConfig } from '../../../src/config/load.js';
import { addrOf } from '../../../src/core/addr.js';
import { newFlow } from '../../../src/core/flow.js';
import { rejectOutbound } from '../../../src/outbound/reject.js';
import { Sessions } from '../../../src/relay/sessions.js';
import { relayTcp } from '../../../src/relay/tcp-relay.js';
import { compileRoute } from '../../../src/route/compile.js';
import { FlowRouter } from '../../../src/route/router.js';
import { fakeLogger, fakeObserver } from '../../helpers/flow-spies.js';
import { noUdp } from '../../helpers/outbounds.js';

function routerFor(rules: unknown[], answeredName?: (src: { host: string }, dst: { host: string }) => string | undefined) {
  const dante: Outbound = { name: 'dante', server: addrOf('198.51.100.1', 1080), dial: () => Promise.reject(new Error('no dialing in this test')), associate: noUdp };
  const config = validateConfig({ upstreams: [{ name: 'dante', url: 'socks5://198.51.100.1:1080' }], route: { rules } });
  const route = compileRoute(config.route, { upstream: (name) => (name === 'dante' ? dante : undefined), direct: dante, reject: rejectOutbound }, dante);
  const decided: string[] = [];
  const udpCounters = createUdpCounters();
  const obs = fakeObserver();
  const deps = { idleMs: 0, relay: relayTcp, native: true, sessions: new Sessions(), log: fakeLogger().log, observer: obs.observer, udpCounters, decisions: { decided: (network: string, d: { index: number; action: string }) => void decided.push(`${network} ${d.index} ${d.action}`) }, answeredName };
  const router = new FlowRouter({ byName: new Map([['dante', dante]]), upstreams: [], chains: [], groups: [] }, route, deps);
  const forwarded: string[] = [];
  router.serveDatagrams((_src, dst, _data, _headroom, outbound) => void forwarded.push(`${dst.host}:${dst.port} → ${outbound.name}`));
  return { router, decided, udpCounters, forwarded, obs };
}

const client = addrOf('192.0.2.10', 40000);

test('UDP: every datagram is decided and told; a rejected one is dropped and counted, the others forwarded', () => {
  const { router, decided, udpCounters, forwarded } = routerFor([{ network: 'udp', port: [443], action: 'reject' }]);
  router.routeDatagram(client, addrOf('203.0.113.1', 443), Buffer.from('quic'), 0);
  router.routeDatagram(client, addrOf('203.0.113.1', 443), Buffer.from('quic'), 0);
  router.routeDatagram(client, addrOf('203.0.113.1', 53), Buffer.from('dns'), 0);
  assert.deepEqual(decided, ['udp 0 reject', 'udp 0 reject', 'udp -1 upstream']);
  assert.equal(udpCounters.droppedRejected, 2);
  assert.deepEqual(forwarded, ['203.0.113.1:53 → dante']);
});

test('UDP with no rules: final, still told', () => {
  const { router, decided, forwarded } = routerFor([]);
  router.routeDatagram(client, addrOf('203.0.113.1', 53), Buffer.from('dns'), 0);
  assert.deepEqual(decided, ['udp -1 upstream']);
  assert.deepEqual(forwarded, ['203.0.113.1:53 → dante']);
});

test('TCP: a flow is decided once and told; a reject resets the client at once and the observer hears the rule', async () => {
  const { router, decided, obs } = routerFor([{ cidr: ['203.0.113.0/24'], port: [80], action: 'reject' }]);
  let resets = 0;
  const conn: ClientConn = { fd: -1, socket: () => assert.fail('a rejected flow needs no socket'), reset: () => void resets++ };
  const flow = newFlow({ network: 'tcp', inbound: 'redirect', src: client, dst: addrOf('203.0.113.1', 80) });
  router.routeTcp(flow, conn);
  await obs.closedOnce;
  assert.deepEqual(decided, ['tcp 0 reject']);
  assert.equal(resets, 1);
  assert.deepEqual(obs.opened, [[flow.id, 'reject', flow.dst, 'cidr=[203.0.113.0/24] port=[80] → reject']]);
  assert.equal(obs.closed[0].end.reason, 'SG_ERR_REJECTED');
});

test('a name the DNS listener answered to the client decides domain rules, TCP and UDP; other clients and addresses stay unnamed', async () => {
  const answered = (src: { host: string }, dst: { host: string }) => (src.host === client.host && dst.host === '203.0.113.7' ? 'ads.example' : undefined);
  const { router, decided, forwarded, obs } = routerFor([{ domain: ['ads.example'], action: 'reject' }], answered);
  const conn: ClientConn = { fd: -1, socket: () => assert.fail('a rejected flow needs no socket'), reset: () => {} };
  router.routeTcp(newFlow({ network: 'tcp', inbound: 'redirect', src: client, dst: addrOf('203.0.113.7', 443) }), conn);
  await obs.closedOnce;
  router.routeDatagram(client, addrOf('203.0.113.7', 443), Buffer.from('quic'), 0);
  router.routeDatagram(addrOf('192.0.2.11', 40000), addrOf('203.0.113.7', 443), Buffer.from('quic'), 0);
  assert.deepEqual(decided, ['tcp 0 reject', 'udp 0 reject', 'udp -1 upstream']);
  assert.deepEqual(forwarded, ['203.0.113.7:443 → dante']);
});
