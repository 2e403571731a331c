import type { Socket } from 'node:net';
import type { SocksAddr } from '../../core/addr.js';
import type { DecisionObserver } from '../../adapter/decision-observer.js';
import type { Router } from '../../adapter/router.js';
import type { UdpCounters } from '../../adapter/udp-counters.js';
import type { Logger } from '../../core/log.js';
import type { FlowReportDeps } from '../../relay/flow-report.js';
import type { FakeDestinations } from '../../relay/udp-fake-names.js';
import type { Relay, RelayOptions } from '../../relay/tcp-relay.js';
import type { LoopGuard } from '../loop-guard.js';

/**
 * How the daemon's flows are carried and reported: the object the router itself uses, read at each
 * use, not copied (a reload changes the idle timeout, fake-IP swaps the flow observer).
 */
export interface SocksFlowDeps extends FlowReportDeps {
  readonly log: Logger;
  readonly decisions?: DecisionObserver;
  readonly idleMs: number;
  /** The byte pump of TCP flows (copy or splice), as for CONNECT. */
  readonly relay: (client: Socket, upstream: Socket, opts: RelayOptions) => Relay;
  readonly udpCounters: UdpCounters;
  /** The name a fake-IP pool address stands for, for domain rules on datagrams. */
  readonly nameOf?: (dst: SocksAddr) => string | undefined;
}

/** What BIND and UDP ASSOCIATE need from the daemon. */
export interface SocksCommandDeps {
  readonly router: Router;
  readonly guard: LoopGuard;
  readonly flows: SocksFlowDeps;
  /** Fake-IP: datagrams to a pool address go upstream by its name, as on the TPROXY path. */
  readonly fakeIp?: FakeDestinations;
}
