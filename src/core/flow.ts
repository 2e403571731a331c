import type { SocksAddr } from './addr.js';

export type InboundKind = 'redirect' | 'tproxy' | 'dns' | 'socks';

/** One intercepted connection, as every stage after the inbound sees it. */
export interface Flow {
  readonly id: number;
  readonly network: 'tcp' | 'udp';
  readonly src: SocksAddr;
  readonly dst: SocksAddr;
  readonly inbound: InboundKind;
  /** Who the client logged in as (the SOCKS/HTTP proxy inbound's users); undefined: nobody did. */
  readonly user: string | undefined;
}

let lastFlowId = 0;

export function newFlow(fields: Omit<Flow, 'id' | 'user'> & { user?: string }): Flow {
  lastFlowId = (lastFlowId + 1) % Number.MAX_SAFE_INTEGER;
  const { network, src, dst, inbound, user } = fields;
  // Spelled out, not spread: one object shape for every flow, built on V8's fast path.
  return Object.freeze({ id: lastFlowId, network, src, dst, inbound, user });
}
