import type { TcpInboundKind } from './tcp-inbound.js';

/** TPROXY: a transparent socket accepts connections to any address; its local end is the destination. */
export const tproxyInbound: TcpInboundKind = { kind: 'tproxy', transparent: true, destination: 'local' };
