import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocksAddr } from '../../../src/core/addr.js';
import { newFlow, type Flow } from '../../../src/core/flow.js';
import type { Outbound } from '../../../src/adapter/outbound.js';
import type { Decision } from '../../../src/adapter/router.js';
import { FlowTable } from '../../../src/observe/flow-table.js';
import { Metrics } from '../../../src/observe/metrics.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';

const flowTo = (port: number) =>
  newFlow({ network: 'tcp', inbound: 'redirect', src: { kind: 'ipv4', host: '192.0.2.2', port: 40000 }, dst: { kind: 'ipv4', host: '198.51.100.2', port } });

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A flow as an observer hears of it when it opens. */
const opened = (flow: Flow, outbound: string, target: SocksAddr | undefined, rule: string) => ({ flow, outbound, target, rule, startedAt: Date.now() });

test('flows are counted at start and end: active, totals by outcome, bytes, failures by reason', async () => {
  const metrics = new Metrics({ udp: () => undefined, dns: () => undefined });
  const table = new FlowTable(metrics);
  const ok = flowTo(80);
  const failed = flowTo(81);
  table.opened(opened(ok, 'a', undefined, 'final → a'));
  table.opened(opened(failed, 'a', { kind: 'domain', host: 'example.test', port: 81 }, 'domain_suffix=[example.test] → a'));
  assert.deepEqual(table.list().map((f) => [f.dst, f.target, f.rule]), [['198.51.100.2:80', undefined, 'final → a'], ['198.51.100.2:81', 'example.test:81', 'domain_suffix=[example.test] → a']]);
  let text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_flows_active{inbound="redirect",outbound="a"}'), 2);

  table.closed(ok, 'a', { outcome: 'closed', bytesUp: 100, bytesDown: 2000 });
  table.closed(failed, 'a', { outcome: 'failed', reason: 'SG_ERR_UPSTREAM_REFUSED', bytesUp: 0, bytesDown: 0 });
  metrics.handshake('a', 0.004);
  assert.deepEqual(table.list(), []);
  text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_flows_active{inbound="redirect",outbound="a"}'), 0);
  assert.equal(value(text, 'socksgate_flows_total{inbound="redirect",outbound="a",outcome="closed"}'), 1);
  assert.equal(value(text, 'socksgate_flows_total{inbound="redirect",outbound="a",outcome="failed"}'), 1);
  assert.equal(value(text, 'socksgate_flow_bytes_total{inbound="redirect",outbound="a",direction="up"}'), 100);
  assert.equal(value(text, 'socksgate_flow_bytes_total{inbound="redirect",outbound="a",direction="down"}'), 2000);
  assert.equal(value(text, 'socksgate_flow_failures_total{outbound="a",reason="SG_ERR_UPSTREAM_REFUSED"}'), 1);
  assert.equal(value(text, 'socksgate_upstream_handshake_seconds_bucket{le="0.005",upstream="a"}'), 1);
});

test('a logged-in proxy-inbound client: its user in the status table and in the per-user series', async () => {
  const metrics = new Metrics({ udp: () => undefined, dns: () => undefined });
  const table = new FlowTable(metrics);
  const flow = newFlow({ network: 'tcp', inbound: 'socks', user: 'alice', src: { kind: 'ipv4', host: '127.0.0.1', port: 40000 }, dst: { kind: 'domain', host: 'example.test', port: 443 } });
  table.opened(opened(flow, 'direct', flow.dst, 'user=[alice] → direct'));
  assert.deepEqual(table.list().map((f) => [f.inbound, f.user, f.dst]), [['socks', 'alice', 'example.test:443']]);
  table.closed(flow, 'direct', { outcome: 'closed', bytesUp: 10, bytesDown: 20 });
  const text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_flows_total{inbound="socks",outbound="direct",outcome="closed"}'), 1);
  assert.equal(value(text, 'socksgate_user_flows_total{inbound="socks",user="alice",outcome="closed"}'), 1);
  assert.equal(value(text, 'socksgate_user_flow_bytes_total{inbound="socks",user="alice",direction="down"}'), 20);
  // Flows without a user add no per-user series.
  table.opened(opened(flowTo(80), 'a', undefined, 'final → a'));
  table.closed(flowTo(80), 'a', { outcome: 'closed', bytesUp: 1, bytesDown: 1 });
  assert.equal((await metrics.registry.metrics()).match(/^socksgate_user_flows_total\{/gm)?.length, 1);
});

test('UDP and DNS counters kept elsewhere are read at scrape time', async () => {
  const counters = createUdpCounters();
  const resolver = { queries: 0, cacheHits: 0, rejected: 0, upstreamQueries: 0 };
  const metrics = new Metrics({ udp: () => ({ counters, sizes: () => ({ associations: 3, replySockets: 7 }) }), dns: () => resolver });
  counters.associationsOpened = 5;
  counters.droppedQueueFull = 2;
  counters.droppedPendingLimit = 9;
  Object.assign(resolver, { queries: 12, cacheHits: 4, rejected: 2, upstreamQueries: 6 });
  metrics.dnsAttempt('tcp://9.9.9.9:53', 0.02, 'answer');
  let text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_udp_associations_total{event="opened"}'), 5);
  assert.equal(value(text, 'socksgate_udp_drops_total{reason="queue_full"}'), 2);
  assert.equal(value(text, 'socksgate_udp_drops_total{reason="pending_limit"}'), 9);
  assert.equal(value(text, 'socksgate_udp_associations_active'), 3);
  assert.equal(value(text, 'socksgate_udp_reply_sockets'), 7);
  assert.equal(value(text, 'socksgate_dns_queries_total{source="cache"}'), 4);
  assert.equal(value(text, 'socksgate_dns_queries_total{source="resolver"}'), 6);
  assert.equal(value(text, 'socksgate_dns_queries_total{source="rejected"}'), 2);
  assert.equal(value(text, 'socksgate_dns_upstream_seconds_count{resolver="tcp://9.9.9.9:53",outcome="answer"}'), 1);

  counters.associationsOpened = 6;
  text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_udp_associations_total{event="opened"}'), 6, 'a second scrape mirrors, not adds');
});

test('route decisions are counted by network, action and rule index (final for none), from one scrape to the next', async () => {
  const metrics = new Metrics({ udp: () => undefined, dns: () => undefined });
  const outbound = { name: 'a' } as Outbound;
  const decision = (index: number, action: Decision['action']): Decision => Object.freeze({ outbound, rule: `rule ${index}`, index, action });
  const [direct, reject, final] = [decision(0, 'direct'), decision(3, 'reject'), decision(-1, 'upstream')];
  metrics.decided('tcp', direct);
  metrics.decided('tcp', direct);
  metrics.decided('tcp', final);
  for (let i = 0; i < 5; i++) metrics.decided('udp', reject);
  let text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_route_decisions_total{network="tcp",action="direct",rule="0"}'), 2);
  assert.equal(value(text, 'socksgate_route_decisions_total{network="tcp",action="upstream",rule="final"}'), 1);
  assert.equal(value(text, 'socksgate_route_decisions_total{network="udp",action="reject",rule="3"}'), 5);
  // A reload compiles new Decisions: the same rule index adds to the same series.
  metrics.decided('tcp', decision(0, 'direct'));
  text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_route_decisions_total{network="tcp",action="direct",rule="0"}'), 3);
  assert.equal(value(text, 'socksgate_route_decisions_total{network="udp",action="reject",rule="3"}'), 5, 'a scrape adds nothing by itself');
});

test('group members: state, UDP, handshake average, active flows, failures and failovers, mirrored at each scrape', async () => {
  const member = { name: 'a', state: 'down' as const, since: 1_700_000_000_000, why: 'x', udp: 'unsupported' as const, latencyMs: 12.5, activeFlows: 2, failures: 4, failovers: 3 };
  const groups = [{ name: 'main', policy: 'failover', members: [member, { ...member, name: 'b', state: 'up' as const, udp: 'unknown' as const, latencyMs: undefined, failures: 0, failovers: 0 }] }];
  const metrics = new Metrics({ udp: () => undefined, dns: () => undefined, groups: () => groups });
  const text = await metrics.registry.metrics();
  assert.equal(value(text, 'socksgate_group_member_up{group="main",member="a"}'), 0);
  assert.equal(value(text, 'socksgate_group_member_up{group="main",member="b"}'), 1);
  assert.equal(value(text, 'socksgate_group_member_udp_up{group="main",member="a"}'), 0);
  assert.equal(value(text, 'socksgate_group_member_state_since_seconds{group="main",member="a"}'), 1_700_000_000);
  assert.equal(value(text, 'socksgate_group_member_handshake_seconds{group="main",member="a"}'), 0.0125);
  assert.ok(!text.includes('socksgate_group_member_handshake_seconds{group="main",member="b"}'), 'no average before a handshake');
  assert.equal(value(text, 'socksgate_group_member_active_flows{group="main",member="a"}'), 2);
  assert.equal(value(text, 'socksgate_group_member_failures_total{group="main",member="a"}'), 4);
  assert.equal(value(text, 'socksgate_group_member_failovers_total{group="main",member="a"}'), 3);
  assert.equal(value(await metrics.registry.metrics(), 'socksgate_group_member_failovers_total{group="main",member="a"}'), 3, 'a second scrape mirrors, not adds');
});
