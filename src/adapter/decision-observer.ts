import type { Decision } from './router.js';

/**
 * Told each decision the router makes for a diverted flow: once per TCP flow, once per UDP
 * datagram (UDP is decided datagram by datagram; `count` > 1 for the datagrams of a pair the
 * addon forwarded on the decision made for its first). On the hot path: keep it a counter bump.
 */
export interface DecisionObserver {
  decided(network: 'tcp' | 'udp', decision: Decision, count?: number): void;
}
