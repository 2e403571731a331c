import type { HealthState } from './member-health.js';

export type GroupPolicy = 'failover' | 'round-robin' | 'least-latency';

/** What a policy reads of one member. */
export type PolicyMember = Pick<HealthState, 'upFor' | 'latency'>;

/**
 * The order in which a new flow tries the `usable` members (indexes into the group's member list,
 * in config order): the first is the policy's choice, the rest are the in-flow failover order.
 * Pure, except for the round-robin turn it advances.
 */
export class PolicyOrder {
  private turn = 0;

  constructor(
    readonly policy: GroupPolicy,
    /** failover: a member that came back is preferred again only after being up this long. */
    private readonly failbackMs: number,
  ) {}

  order(members: readonly PolicyMember[], usable: readonly number[]): number[] {
    switch (this.policy) {
      case 'failover':
        return this.failover(members, usable);
      case 'round-robin':
        return this.roundRobin(usable);
      case 'least-latency':
        return leastLatency(members, usable);
    }
  }

  /** Config order, except that members back up for less than failbackMs go after the others (no flapping). */
  private failover(members: readonly PolicyMember[], usable: readonly number[]): number[] {
    const settled = usable.filter((i) => members[i].upFor(this.failbackMs));
    return [...settled, ...usable.filter((i) => !settled.includes(i))];
  }

  /** Each new flow starts one member further along the usable ones. */
  private roundRobin(usable: readonly number[]): number[] {
    if (usable.length === 0) return [];
    const start = this.turn++ % usable.length;
    if (this.turn >= Number.MAX_SAFE_INTEGER) this.turn = 0;
    return [...usable.slice(start), ...usable.slice(0, start)];
  }
}

/** Lowest handshake-time average first; a member never measured goes first, so it gets measured. */
function leastLatency(members: readonly PolicyMember[], usable: readonly number[]): number[] {
  const latency = (i: number) => members[i].latency ?? -1;
  return [...usable].sort((a, b) => latency(a) - latency(b) || a - b);
}
