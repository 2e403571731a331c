import type { TcpInboundKind } from './tcp-inbound.js';

/** iptables/nft REDIRECT or DNAT: the kernel keeps the original destination in conntrack (SO_ORIGINAL_DST). */
export const redirectInbound: TcpInboundKind = { kind: 'redirect', transparent: false, destination: 'original' };
