import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
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
