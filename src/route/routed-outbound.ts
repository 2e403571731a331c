import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import { newFlow, type InboundKind } from '../core/flow.js';
import type { DialContext, Outbound } from '../adapter/outbound.js';
import type { Router } from '../adapter/router.js';
import type { UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';

/** The daemon's own connections (e.g. to a DNS resolver) come from no client address. */
const DAEMON: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

/**
 * An outbound for the daemon's own long-lived user of one server (a DNS transport and its
 * resolver): each dial and each association is a flow of `inbound` to `server`, decided by the
 * router at that moment, so it follows reloads.
 */
export function routedOutbound(router: Router, inbound: InboundKind, server: SocksAddr): Outbound {
  const decide = (network: 'tcp' | 'udp', dst: SocksAddr) => router.decide(newFlow({ network, src: DAEMON, dst, inbound })).outbound;
  const current = () => decide('tcp', server);
  return {
    get name() {
      return current().name;
    },
    get server() {
      return current().server;
    },
    dial: (dst: SocksAddr, ctx: DialContext): Promise<Socket> => decide('tcp', dst).dial(dst, ctx),
    associate: (client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> => decide('udp', server).associate(client, events, signal),
  };
}

/** What `via` can name: the current named outbounds (upstreams, groups, chains), and direct. */
export interface ViaTargets {
  readonly outbounds: ReadonlyMap<string, Outbound>;
  readonly direct: Outbound;
}

/**
 * An outbound for the daemon's own long-lived user of one server that a `via` names: `direct` or
 * an upstream. Looked up at each dial, so it follows reloads; an upstream a reload removed fails
 * the dial (the DNS rules that name it change only at a restart).
 */
export function viaOutbound(targets: ViaTargets, via: string): Outbound {
  const lookup = (): Outbound | undefined => (via === 'direct' ? targets.direct : targets.outbounds.get(via));
  const current = (): Outbound => {
    const found = lookup();
    if (!found) throw new SgError(ErrorCode.UPSTREAM_UNREACHABLE, `no upstream is named "${via}" any more (dns.rules take a new via at a restart)`);
    return found;
  };
  return {
    name: via,
    get server() {
      return lookup()?.server ?? DAEMON;
    },
    dial: async (dst: SocksAddr, ctx: DialContext): Promise<Socket> => current().dial(dst, ctx),
    associate: async (client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> => current().associate(client, events, signal),
  };
}
