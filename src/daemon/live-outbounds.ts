import type { SocksAddr } from '../core/addr.js';
import type { Flow } from '../core/flow.js';
import type { WatchedOutbound } from '../outbound/watched-outbound.js';
import type { DialContext, Outbound } from '../adapter/outbound.js';
import { createRouter } from '../route/router.js';

/**
 * The outbounds new flows are routed to. A reload swaps the list in one assignment: flows already
 * dialled keep their sockets, the next `pick` sees the new upstreams.
 */
export class LiveOutbounds {
  private list!: readonly WatchedOutbound[];
  private route!: (flow: Flow) => WatchedOutbound;

  /** A stable dialer for long-lived users (the DNS transports) that follows the current first upstream. */
  readonly first: Outbound;

  constructor(list: readonly WatchedOutbound[]) {
    this.swap(list);
    const self = this;
    this.first = {
      get name() {
        return self.list[0].name;
      },
      get server(): SocksAddr {
        return self.list[0].server;
      },
      dial: (dst: SocksAddr, ctx: DialContext) => this.list[0].dial(dst, ctx),
    };
  }

  get all(): readonly WatchedOutbound[] {
    return this.list;
  }

  swap(list: readonly WatchedOutbound[]): void {
    this.route = createRouter(list);
    this.list = list;
  }

  pick(flow: Flow): WatchedOutbound {
    return this.route(flow);
  }
}
