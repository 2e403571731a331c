import type { Flow } from '../core/flow.js';

/**
 * Chooses the outbound for a flow. Until rule-based routing lands every flow takes the first
 * configured upstream; the rest stay configured (and validated) for failover groups.
 */
export function createRouter<T>(outbounds: readonly T[]): (flow: Flow) => T {
  if (outbounds.length === 0) throw new RangeError('a router needs at least one outbound');
  const [first] = outbounds;
  return () => first;
}
