import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Flow } from '../core/flow.js';
import type { DecisionObserver } from '../adapter/decision-observer.js';
import type { FlowEnd, FlowObserver, OpenedFlow } from '../adapter/flow-observer.js';
import type { Decision } from '../adapter/router.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import type { GroupHealth } from '../adapter/upstream-health.js';
import { registerGroupMetrics } from './group-metrics.js';

/** Counters other parts keep as plain numbers; read at scrape time so their hot paths stay untouched. */
export interface MetricSources {
  udp(): { counters: UdpCounters; sizes(): { associations: number; replySockets: number } } | undefined;
  dns(): { queries: number; cacheHits: number; rejected: number; upstreamQueries: number } | undefined;
  /** Every group's members (absent: no groups). */
  groups?(): readonly GroupHealth[];
}

let promClient: typeof PromClient | undefined;
/** prom-client is loaded when the first Metrics is made (only with --metrics), not at start-up. */
function prom(): typeof PromClient {
  return (promClient ??= createRequire(import.meta.url)('prom-client') as typeof PromClient);
}

const UDP_DROPS = {
  queue_full: 'droppedQueueFull',
  pending_limit: 'droppedPendingLimit',
  rejected: 'droppedRejected',
  no_udp: 'droppedNoUdp',
  association_failed: 'droppedAssociationFailed',
  no_destination: 'droppedNoDestination',
  no_mapping: 'droppedNoMapping',
  loop: 'droppedLoop',
  fragmented: 'droppedFragmented',
  foreign_source: 'droppedForeignSource',
  malformed: 'droppedMalformed',
  unresolvable: 'droppedUnresolvable',
  send_error: 'droppedSendError',
} as const satisfies Record<string, keyof UdpCounters>;

const UDP_ASSOCIATIONS = {
  opened: 'associationsOpened',
  failed: 'associationsFailed',
  closed: 'associationsClosed',
  evicted: 'associationsEvicted',
  expired: 'associationsExpired',
} as const satisfies Record<string, keyof UdpCounters>;

const UDP_DATAGRAMS = {
  from_app: 'datagramsIn',
  to_upstream: 'datagramsOut',
  from_upstream: 'repliesIn',
  to_app: 'repliesOut',
} as const satisfies Record<string, keyof UdpCounters>;

/** A counter whose value lives elsewhere: refreshed from `read` on every scrape. */
function mirroredCounter(registry: Registry, name: string, help: string, labelName: string, read: () => Record<string, number> | undefined) {
  return new (prom().Counter)({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      const values = read();
      if (!values) return;
      this.reset();
      for (const [label, value] of Object.entries(values)) this.inc({ [labelName]: label }, value);
    },
  });
}

function pick<K extends string>(counters: UdpCounters, names: Record<K, keyof UdpCounters>): Record<K, number> {
  return Object.fromEntries(Object.entries<keyof UdpCounters>(names).map(([label, key]) => [label, counters[key]])) as Record<K, number>;
}

/** The Prometheus view of the daemon. Flows are counted once at their start and once at their end. */
export class Metrics implements FlowObserver, DecisionObserver {
  readonly registry = new (prom().Registry)();
  private readonly active: Gauge<'inbound' | 'outbound'>;
  private readonly flows: Counter<'inbound' | 'outbound' | 'outcome'>;
  private readonly bytes: Counter<'inbound' | 'outbound' | 'direction'>;
  private readonly failures: Counter<'outbound' | 'reason'>;
  /** Flows of logged-in proxy-inbound clients, by user: their own series, so the others keep few labels. */
  private readonly userFlows: Counter<'inbound' | 'user' | 'outcome'>;
  private readonly userBytes: Counter<'inbound' | 'user' | 'direction'>;
  private readonly handshakeSeconds: Histogram<'upstream'>;
  private readonly dnsUpstreamSeconds: Histogram<'resolver' | 'outcome'>;
  /**
   * Decisions since the last scrape, by Decision (one frozen object per rule of a compiled route):
   * counting is a Map bump on the UDP hot path; labels are made once per scrape.
   */
  private readonly decisions = { tcp: new Map<Decision, number>(), udp: new Map<Decision, number>() };

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    prom().collectDefaultMetrics({ register: this.registry, prefix: 'socksgate_' });
    this.active = new (prom().Gauge)({ name: 'socksgate_flows_active', help: 'TCP flows open now', labelNames: ['inbound', 'outbound'], registers });
    this.flows = new (prom().Counter)({ name: 'socksgate_flows_total', help: 'TCP flows ended, by how they ended', labelNames: ['inbound', 'outbound', 'outcome'], registers });
    this.bytes = new (prom().Counter)({
      name: 'socksgate_flow_bytes_total',
      help: 'Bytes relayed by ended TCP flows (up: client to upstream); added when a flow ends',
      labelNames: ['inbound', 'outbound', 'direction'],
      registers,
    });
    this.failures = new (prom().Counter)({ name: 'socksgate_flow_failures_total', help: 'TCP flows that failed or were reset, by reason', labelNames: ['outbound', 'reason'], registers });
    this.userFlows = new (prom().Counter)({ name: 'socksgate_user_flows_total', help: 'TCP flows of logged-in proxy-inbound clients ended, by user and how they ended', labelNames: ['inbound', 'user', 'outcome'], registers });
    this.userBytes = new (prom().Counter)({ name: 'socksgate_user_flow_bytes_total', help: 'Bytes relayed by ended TCP flows of logged-in proxy-inbound clients, by user (up: client to upstream)', labelNames: ['inbound', 'user', 'direction'], registers });
    this.handshakeSeconds = new (prom().Histogram)({
      name: 'socksgate_upstream_handshake_seconds',
      help: 'From the TCP connect to the upstream proxy until its success reply',
      labelNames: ['upstream'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.dnsUpstreamSeconds = new (prom().Histogram)({
      name: 'socksgate_dns_upstream_seconds',
      help: 'One attempt at a real resolver, through the upstream proxy',
      labelNames: ['resolver', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const decisions = this.decisions;
    new (prom().Counter)({
      name: 'socksgate_route_decisions_total',
      help: 'Route decisions by action and rule (its index in route.rules, or final): one per TCP flow, one per UDP datagram',
      labelNames: ['network', 'action', 'rule'],
      registers,
      collect() {
        sources.udp(); // reading the UDP view brings in the addon's counts, its UDP decisions among them
        for (const network of ['tcp', 'udp'] as const) {
          for (const [decision, count] of decisions[network]) {
            this.inc({ network, action: decision.action, rule: decision.index < 0 ? 'final' : String(decision.index) }, count);
          }
          decisions[network].clear();
        }
      },
    });
    const udp = () => sources.udp();
    mirroredCounter(this.registry, 'socksgate_udp_associations_total', 'UDP associations with an upstream, by event', 'event', () => {
      const u = udp();
      return u && pick(u.counters, UDP_ASSOCIATIONS);
    });
    mirroredCounter(this.registry, 'socksgate_udp_drops_total', 'UDP datagrams dropped, by reason', 'reason', () => {
      const u = udp();
      return u && pick(u.counters, UDP_DROPS);
    });
    mirroredCounter(this.registry, 'socksgate_udp_datagrams_total', 'UDP datagrams, by leg', 'direction', () => {
      const u = udp();
      return u && pick(u.counters, UDP_DATAGRAMS);
    });
    new (prom().Gauge)({
      name: 'socksgate_udp_associations_active',
      help: 'UDP associations open now',
      registers,
      collect() {
        this.set(udp()?.sizes().associations ?? 0);
      },
    });
    new (prom().Gauge)({
      name: 'socksgate_udp_reply_sockets',
      help: 'Transparent reply sockets cached now (one per remote address:port)',
      registers,
      collect() {
        this.set(udp()?.sizes().replySockets ?? 0);
      },
    });
    mirroredCounter(this.registry, 'socksgate_dns_queries_total', 'DNS questions the resolver handled, by where the answer came from (rejected: NXDOMAIN by dns.rules)', 'source', () => {
      const d = sources.dns();
      return d && { cache: d.cacheHits, rejected: d.rejected, resolver: d.queries - d.cacheHits - d.rejected };
    });
    registerGroupMetrics(prom(), this.registry, () => sources.groups?.());
    mirroredCounter(this.registry, 'socksgate_dns_upstream_queries_total', 'Questions sent to real resolvers', 'via', () => {
      const d = sources.dns();
      return d && { tcp: d.upstreamQueries };
    });
  }

  opened({ flow, outbound }: OpenedFlow): void {
    this.active.inc({ inbound: flow.inbound, outbound });
  }

  closed(flow: Flow, outbound: string, end: FlowEnd): void {
    const { inbound } = flow;
    this.active.dec({ inbound, outbound });
    this.flows.inc({ inbound, outbound, outcome: end.outcome });
    if (end.bytesUp) this.bytes.inc({ inbound, outbound, direction: 'up' }, end.bytesUp);
    if (end.bytesDown) this.bytes.inc({ inbound, outbound, direction: 'down' }, end.bytesDown);
    if (end.outcome !== 'closed' && end.reason) this.failures.inc({ outbound, reason: end.reason });
    const { user } = flow;
    if (user === undefined) return;
    this.userFlows.inc({ inbound, user, outcome: end.outcome });
    if (end.bytesUp) this.userBytes.inc({ inbound, user, direction: 'up' }, end.bytesUp);
    if (end.bytesDown) this.userBytes.inc({ inbound, user, direction: 'down' }, end.bytesDown);
  }

  decided(network: 'tcp' | 'udp', decision: Decision, count = 1): void {
    const counts = this.decisions[network];
    counts.set(decision, (counts.get(decision) ?? 0) + count);
  }

  handshake(upstream: string, seconds: number): void {
    this.handshakeSeconds.observe({ upstream }, seconds);
  }

  dnsAttempt(resolver: string, seconds: number, outcome: string): void {
    this.dnsUpstreamSeconds.observe({ resolver, outcome }, seconds);
  }
}
