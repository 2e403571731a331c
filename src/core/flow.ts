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
  // An increment, not `% Number.MAX_SAFE_INTEGER`: a modulo by a double makes a double, and V8 then
  // stores every flow's id in a box of its own (16 bytes per live flow, heap-per-flow.ts).
  lastFlowId = lastFlowId < Number.MAX_SAFE_INTEGER ? lastFlowId + 1 : 1;
  const { network, src, dst, inbound, user } = fields;
  // Spelled out, not spread: one object shape for every flow, built on V8's fast path.
  return Object.freeze({ id: lastFlowId, network, src, dst, inbound, user });
}
