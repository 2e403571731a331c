import type { SocksAddr } from '../core/addr.js';
import type { Flow } from '../core/flow.js';
import type { ClientConn } from './client-conn.js';
import type { Outbound } from './outbound.js';

/** What the router decided for a flow. */
export interface Decision {
  /** What carries the flow. */
  readonly outbound: Outbound;
  /** The rule that chose it, in the text form that logs and status show (`final` when none did). */
  readonly rule: string;
  /** Its index in route.rules; -1 for `final`. */
  readonly index: number;
  /** What it does with the flow: through an upstream, direct, or reject (metrics count by it). */
  readonly action: RouteAction;
}

export type RouteAction = 'upstream' | 'direct' | 'reject';

/**
 * Where flows meet decisions. Every inbound hands each flow it recovered to the router, which
 * decides, has the chosen outbound dial, and starts the relay.
 */
export interface Router {
  /**
   * The decision for a flow, or for one datagram (which has no flow id of its own); `host`: the
   * name an IP destination is known to stand for (a fake-IP address's), for domain rules.
   */
  decide(flow: Omit<Flow, 'id'> & { readonly host?: string }): Decision;
  /** Carries a TCP flow to its end. Never throws: a failure resets the client and is logged once. */
  routeTcp(flow: Flow, client: ClientConn): void;
  /**
   * Carries one diverted datagram from `src` to `dst`; `data` holds `headroom` spare bytes, then
   * the payload. Each datagram is decided (associations are per client address and outbound).
   */
  routeDatagram(src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number): void;
}
