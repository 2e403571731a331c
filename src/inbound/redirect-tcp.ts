import { listenTcp, originalDestination } from '../native/index.js';
import type { TcpInboundKind } from './tcp-inbound.js';

/** iptables/nft REDIRECT or DNAT: the kernel keeps the original destination in conntrack. */
export const redirectInbound: TcpInboundKind = {
  kind: 'redirect',
  listen: (server, at, reusePort) =>
    // Node cannot set SO_REUSEPORT: with several workers the addon builds the socket.
    reusePort
      ? listenTcp(server, at, { reusePort: true, backlog: 1024 })
      : new Promise((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: at.host, port: at.port, backlog: 1024 }, () => {
            server.off('error', reject);
            resolve();
          });
        }),
  destination: originalDestination,
};
