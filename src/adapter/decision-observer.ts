import type { Decision } from './router.js';

/**
 * Told each decision the router makes for a diverted flow: once per TCP flow, once per UDP
 * datagram (UDP is decided datagram by datagram). On the hot path: keep it a counter bump.
 */
export interface DecisionObserver {
  decided(network: 'tcp' | 'udp', decision: Decision): void;
}
