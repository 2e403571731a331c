import { listenTcp, originalDestination } from '../native/index.js';
import type { TcpInboundKind } from './tcp-inbound.js';

/** iptables/nft REDIRECT or DNAT: the kernel keeps the original destination in conntrack. */
export const redirectInbound: TcpInboundKind = {
  kind: 'redirect',
  // The addon builds the socket: Node cannot set SO_REUSEPORT (workers) or TCP_NODELAY on a listener.
  listen: (server, at, reusePort) => listenTcp(server, at, { reusePort, backlog: 1024 }),
  destination: originalDestination,
};
