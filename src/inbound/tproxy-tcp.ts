import { addrOf } from '../core/addr.js';
import { listenTcp } from '../native/index.js';
import type { TcpInboundKind } from './tcp-inbound.js';

/** TPROXY: a transparent socket accepts connections to any address; its local end is the destination. */
export const tproxyInbound: TcpInboundKind = {
  kind: 'tproxy',
  listen: (server, at, reusePort) => listenTcp(server, at, { transparent: true, reusePort, backlog: 1024 }),
  destination: (client) => {
    if (client.localAddress === undefined || client.localPort === undefined) throw new Error('socket has no local address');
    return addrOf(client.localAddress, client.localPort);
  },
};
