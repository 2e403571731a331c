import { originalDestination } from '../native/index.js';
import type { TcpInboundKind } from './tcp-inbound.js';

/** iptables/nft REDIRECT or DNAT: the kernel keeps the original destination in conntrack. */
export const redirectInbound: TcpInboundKind = {
  kind: 'redirect',
  listen: (server, at) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: at.host, port: at.port, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    }),
  destination: originalDestination,
};
