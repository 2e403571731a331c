import type { SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { ClientConn } from '../adapter/client-conn.js';
import type { DecisionObserver } from '../adapter/decision-observer.js';
import type { Outbound } from '../adapter/outbound.js';
import type { Decision, Router } from '../adapter/router.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import { rejectOutbound } from '../outbound/reject.js';
import type { OutboundRegistry } from '../outbound/registry.js';
import type { CompiledRoute } from './compile.js';
import type { RouteQuery } from './match/matcher.js';
import { dispatchTcp, type TcpDispatchDeps } from './tcp-dispatch.js';

/** Takes the datagrams of UDP flows through the outbound the router chose: the UDP service's association table. */
/**
 * `decidedAgain` counts the datagrams of the same (src, dst) that took this decision later without
 * asking (the addon's fast path); absent when the decision may change from one datagram to the
 * next (rules on names, which DNS answers feed), so that none may skip the router.
 */
export type DatagramHandler = (src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number, outbound: Outbound, decidedAgain?: (count: number) => void) => void;

export interface FlowRouterDeps extends TcpDispatchDeps {
  /** The name a destination address stands for (a fake-IP pool address's name), for domain rules on UDP. */
  readonly nameOf?: (dst: SocksAddr) => string | undefined;
  /** The one name the DNS listener answered `src` with `dst`'s address for, when no other source gave one. */
  readonly answeredName?: (src: SocksAddr, dst: SocksAddr) => string | undefined;
  /** Where rejected datagrams are counted. */
  readonly udpCounters: UdpCounters;
  /** Told every decision (metrics); absent: nobody counts. */
  readonly decisions?: DecisionObserver;
}

/**
 * The one router of a daemon: decides every flow by the compiled route (first matching rule, else
 * `final`) and carries it there. A reload swaps the route and the outbounds in one assignment:
 * flows already decided keep their outbound, the next decision sees the new ones.
 */
export class FlowRouter implements Router {
  private current!: OutboundRegistry;
  private route!: CompiledRoute;
  private datagrams?: DatagramHandler;
  /** Told after each swap: decisions taken before it must be taken again. */
  private routesChanged?: () => void;
  private readonly decideTcp = (flow: Flow, known: string | undefined): Decision => {
    const host = known ?? this.answeredName(flow.src, flow.dst);
    const decision = host === undefined ? this.route.decide(flow) : this.route.decide(withHost(flow, host));
    this.deps.decisions?.decided('tcp', decision);
    return decision;
  };

  constructor(
    registry: OutboundRegistry,
    route: CompiledRoute,
    private readonly deps: FlowRouterDeps,
  ) {
    this.swap(registry, route);
  }

  /** Every named outbound (upstreams, groups, chains) of the current config. */
  get registry(): OutboundRegistry {
    return this.current;
  }

  /** Every named outbound by name (what a DNS rule's `via` names). */
  get outbounds(): ReadonlyMap<string, Outbound> {
    return this.current.byName;
  }

  /** The route's `direct` outbound (the daemon's own marked sockets). */
  get direct(): Outbound {
    return this.route.direct;
  }

  /** Whether the route has rules on domain names (then sniffing, where on, feeds them). */
  get needsHost(): boolean {
    return this.route.needsHost;
  }

  swap(registry: OutboundRegistry, route: CompiledRoute): void {
    this.current = registry;
    this.route = route;
    this.routesChanged?.();
  }

  /** Where routeDatagram sends datagrams (undefined: UDP is not served, they are dropped). */
  serveDatagrams(handler: DatagramHandler | undefined, routesChanged?: () => void): void {
    this.datagrams = handler;
    this.routesChanged = routesChanged;
  }

  private answeredName(src: SocksAddr, dst: SocksAddr): string | undefined {
    return this.route.needsHost && dst.kind !== 'domain' ? this.deps.answeredName?.(src, dst) : undefined;
  }

  decide(query: RouteQuery): Decision {
    return this.route.decide(query);
  }

  routeTcp(flow: Flow, client: ClientConn): void {
    dispatchTcp(flow, client, this.decideTcp, this.deps).catch((err: unknown) => {
      // dispatchTcp reports its own failures; anything reaching here is a bug, and costs one flow only.
      this.deps.log.error({ flowId: flow.id, reason: errorCode(err) }, `flow dispatch failed: ${errorMessage(err)}`);
      client.reset();
    });
  }

  routeDatagram(src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number): void {
    if (!this.datagrams) return;
    const route = this.route;
    // No rules: no query object per datagram.
    const decision = route.size === 0 ? route.final : route.decide({ network: 'udp', inbound: 'tproxy', src, dst, host: route.needsHost ? (this.deps.nameOf?.(dst) ?? this.answeredName(src, dst)) : undefined });
    this.deps.decisions?.decided('udp', decision);
    const { outbound } = decision;
    if (outbound === rejectOutbound) {
      this.deps.udpCounters.droppedRejected++;
      return;
    }
    this.datagrams(src, dst, data, headroom, outbound, route.needsHost ? undefined : (count) => this.deps.decisions?.decided('udp', decision, count));
  }
}

function withHost(flow: Flow, host: string): RouteQuery {
  return { network: flow.network, inbound: flow.inbound, src: flow.src, dst: flow.dst, host, user: flow.user };
}
