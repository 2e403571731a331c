import { formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { newFlow, type InboundKind } from '../core/flow.js';
import { listenTcpFd } from '../native/index.js';
import { acceptTcp, type DestinationSource, type TcpAcceptor } from '../native/tcp-accept.js';
import type { Logger } from '../core/log.js';
import type { Router } from '../adapter/router.js';
import { AcceptedClient } from './accepted-client.js';
import { LogThrottle } from './log-throttle.js';
import type { LoopGuard } from './loop-guard.js';

/** Refused connections are logged at most once per reason per this interval, with a count of the rest. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface TcpInboundDeps {
  readonly guard: LoopGuard;
  readonly router: Router;
  readonly log: Logger;
  /** SO_REUSEPORT on the listening sockets: several worker processes share each address. */
  readonly reusePort?: boolean;
}

/** What distinguishes one TCP inbound from another: how it listens and where the destination comes from. */
export interface TcpInboundKind {
  readonly kind: InboundKind;
  /** IP_TRANSPARENT on the listener: it accepts connections to any address (TPROXY). */
  readonly transparent: boolean;
  readonly destination: DestinationSource;
}

/**
 * A listener for diverted connections. It only recovers each connection's destination, refuses
 * loops, and hands a Flow to the router. The addon accepts, so a connection is a raw fd until a
 * flow needs a Node socket.
 */
export function startTcpInbound(inbound: TcpInboundKind, at: SocksAddr, deps: TcpInboundDeps): TcpAcceptor {
  const log = deps.log.child({ inbound: inbound.kind, listen: formatAddr(at) });
  const refusals = new LogThrottle(REFUSAL_LOG_INTERVAL_MS, (reason, count) =>
    log.warn({ reason, suppressed: count }, `refused ${count} more connection(s) for the same reason in the last ${REFUSAL_LOG_INTERVAL_MS / 1000} s (logged once per reason per ${REFUSAL_LOG_INTERVAL_MS / 1000} s)`),
  );
  const fd = listenTcpFd(at, { transparent: inbound.transparent, reusePort: deps.reusePort ?? false, backlog: 1024 });
  const acceptor = acceptTcp(
    fd,
    inbound.destination,
    ({ fd: clientFd, src, dst }) => {
      const client = new AcceptedClient(clientFd);
      if (dst instanceof Error) {
        const reason = errorCode(dst);
        if (refusals.allow(reason)) {
          log.warn({ src: formatAddr(src), reason }, `refused: no original destination (a direct connection to the listener, not diverted by a rule): ${errorMessage(dst)}`);
        }
        client.reset();
        return;
      }
      const loop = deps.guard.check(dst);
      if (loop) {
        if (refusals.allow('SG_ERR_LOOP')) log.warn({ src: formatAddr(src), dst: formatAddr(dst), reason: 'SG_ERR_LOOP' }, `refused loop: ${loop}`);
        client.reset();
        return;
      }
      deps.router.routeTcp(newFlow({ network: 'tcp', src, dst, inbound: inbound.kind }), client);
    },
    (err) => log.error({ reason: errorCode(err) }, `listener error: ${errorMessage(err)}`),
  );
  log.info('listening');
  return acceptor;
}
