import type { SocksAddr } from './addr.js';

export type InboundKind = 'redirect' | 'tproxy';

/** One intercepted connection, as every stage after the inbound sees it. */
export interface Flow {
  readonly id: number;
  readonly network: 'tcp' | 'udp';
  readonly src: SocksAddr;
  readonly dst: SocksAddr;
  readonly inbound: InboundKind;
}

let lastFlowId = 0;

export function newFlow(fields: Omit<Flow, 'id'>): Flow {
  lastFlowId = (lastFlowId + 1) % Number.MAX_SAFE_INTEGER;
  return Object.freeze({ id: lastFlowId, ...fields });
}
