import { formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { SOCKS5_UDP_MAX_HEADER } from '../codec/socks5-udp.js';
import type { Logger } from '../core/log.js';
import { listenUdpTransparent, type UdpListener } from '../native/index.js';
import type { UdpFastPath } from '../native/udp-fast.js';
import type { Router } from '../adapter/router.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import type { LoopGuard } from './loop-guard.js';

/** Spare bytes in front of every received payload: room for any SOCKS5 UDP header. */
export const UDP_HEADROOM = SOCKS5_UDP_MAX_HEADER;

export interface UdpInboundDeps {
  readonly guard: LoopGuard;
  readonly counters: UdpCounters;
  readonly log: Logger;
  readonly router: Router;
  /** SO_REUSEPORT: several worker processes share the address; the kernel hashes by 4-tuple. */
  readonly reusePort?: boolean;
  /** The addon's established pairs: their datagrams go to the relay without reaching this file. */
  readonly fast?: UdpFastPath;
}

/**
 * TPROXY for UDP: a transparent socket on the TPROXY port receives datagrams to any address; the
 * kernel tells each one's original destination. This only recovers it and hands each datagram to
 * the router.
 */
export function startTproxyUdpInbound(at: SocksAddr, deps: UdpInboundDeps): UdpListener {
  const log = deps.log.child({ inbound: 'tproxy', network: 'udp', listen: formatAddr(at) });
  const c = deps.counters;
  const listener = listenUdpTransparent(
    at,
    { headroom: UDP_HEADROOM, reusePort: deps.reusePort ?? false, fast: deps.fast },
    (batch) => {
      for (const { data, src, dst } of batch) {
        c.datagramsIn++;
        if (dst === undefined) {
          c.droppedNoDestination++; // sent to the listener itself, not diverted by a rule
          continue;
        }
        // Counted, not logged per datagram: a loop would flood the log.
        if (deps.guard.check(dst)) {
          c.droppedLoop++;
          continue;
        }
        deps.router.routeDatagram(src, dst, data, UDP_HEADROOM);
      }
    },
    (err) => log.warn({ reason: errorCode(err) }, `udp receive error: ${errorMessage(err)}`),
  );
  log.info('listening');
  return listener;
}
