import type { Outbound } from '../adapter/outbound.js';
import type { MemberHealth } from '../adapter/upstream-health.js';

/** The knobs of one member's health; times in ms. */
export interface HealthSettings {
  /** Failed dials in a row that mark the member down. */
  readonly failAfter: number;
  /** First wait before a down member is tried again; doubles on each failed try. */
  readonly retryMs: number;
  readonly maxRetryMs: number;
  /** Between two probes of a member that is up; undefined: no active probe (passive health only). */
  readonly probeIntervalMs?: number;
}

/** Weight of the newest sample in the handshake-time average. */
const EWMA_WEIGHT = 0.3;

type UdpState = MemberHealth['udp'];

/**
 * The health of one group member as a pure state machine over an injected clock (ms): no timer and
 * no I/O, so every transition is unit-tested. TCP: `up` until `failAfter` failed dials in a row or
 * one failed probe, then `down` until a probe (or, without probes, a trial flow once the backoff has
 * passed) succeeds. UDP is tracked apart: a member that refuses UDP ASSOCIATE carries no UDP flow.
 */
export class HealthState {
  private state: 'up' | 'down' = 'up';
  private since: number;
  private why?: string;
  private consecutiveFailures = 0;
  private backoffMs: number;
  /** Down: when it may be tried (or probed) again; up: when the next probe is due. */
  private nextTryAt: number;
  private wentDownOnce = false;
  private udp: UdpState = 'unknown';
  /** When a member whose UDP failed may carry UDP again without a passing probe. */
  private udpRetryAt = 0;
  private latencyMs?: number;
  activeFlows = 0;
  failures = 0;
  failovers = 0;

  constructor(
    readonly name: string,
    private readonly settings: HealthSettings,
    private readonly now: () => number,
  ) {
    this.since = now();
    this.backoffMs = settings.retryMs;
    // With probes, the first runs at once, so status shows every member's state (and UDP) early.
    this.nextTryAt = this.since;
  }

  /** Handshake-time average in ms; undefined until a dial through it succeeded. */
  get latency(): number | undefined {
    return this.latencyMs;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** Up since at least `ms` (a member that never went down counts as up forever). */
  upFor(ms: number): boolean {
    return this.state === 'up' && (this.wentDownOnce === false || this.now() - this.since >= ms);
  }

  /** Whether a new TCP flow may go to it: up, or (without probes) down with its backoff passed, as a trial. */
  usable(): boolean {
    if (this.state === 'up') return true;
    return this.settings.probeIntervalMs === undefined && this.now() >= this.nextTryAt;
  }

  /** Whether a new UDP association may go to it. */
  usableForUdp(): boolean {
    return this.usable() && this.udp !== 'unsupported' && (this.udp !== 'down' || this.now() >= this.udpRetryAt);
  }

  /** Whether an active probe is due now. */
  probeDue(): boolean {
    return this.settings.probeIntervalMs !== undefined && this.now() >= this.nextTryAt;
  }

  /** A dial through it succeeded after `handshakeMs`. */
  dialSucceeded(handshakeMs: number): void {
    this.latencyMs = this.latencyMs === undefined ? handshakeMs : this.latencyMs + EWMA_WEIGHT * (handshakeMs - this.latencyMs);
    this.consecutiveFailures = 0;
    // Without probes, a trial flow that got through is the proof it is back.
    if (this.state === 'down' && this.settings.probeIntervalMs === undefined) this.markUp();
  }

  /** A dial through it failed for `why`; down after failAfter in a row (a trial flow of a down member pushes its retry back). */
  dialFailed(why: string): void {
    this.failures++;
    this.consecutiveFailures++;
    if (this.state === 'down') {
      if (this.settings.probeIntervalMs === undefined) this.retryLater();
      return;
    }
    if (this.consecutiveFailures >= this.settings.failAfter) this.markDown(why);
  }

  /** An active probe's outcome (undefined: it passed). */
  probed(failure: string | undefined, handshakeMs?: number): void {
    if (failure === undefined) {
      if (handshakeMs !== undefined) this.dialSucceeded(handshakeMs);
      this.consecutiveFailures = 0;
      if (this.state === 'down') this.markUp();
      this.nextTryAt = this.now() + this.settings.probeIntervalMs!;
      return;
    }
    if (this.state === 'up') this.markDown(failure);
    else this.retryLater();
  }

  /**
   * The outcome of a UDP association or probe: 'up', 'down' (it failed: counted, and no UDP flow
   * for maxRetryMs) or 'unsupported' (refused). TCP health is left alone: TCP flows judge it.
   */
  udpSeen(state: Exclude<UdpState, 'unknown'>): void {
    this.udp = state;
    if (state !== 'down') return;
    this.failures++;
    this.udpRetryAt = this.now() + this.settings.maxRetryMs;
  }

  private markDown(why: string): void {
    this.state = 'down';
    this.wentDownOnce = true;
    this.since = this.now();
    this.why = why;
    this.backoffMs = this.settings.retryMs;
    this.nextTryAt = this.since + this.backoffMs;
  }

  private markUp(): void {
    this.state = 'up';
    // Whatever broke its UDP broke it all: back up, it may carry UDP again.
    if (this.udp === 'down') this.udp = 'unknown';
    this.since = this.now();
    this.why = undefined;
    this.consecutiveFailures = 0;
    this.backoffMs = this.settings.retryMs;
    this.nextTryAt = this.since + (this.settings.probeIntervalMs ?? 0);
  }

  /** Still down: the next try waits twice as long, up to maxRetryMs. */
  private retryLater(): void {
    const { maxRetryMs, probeIntervalMs } = this.settings;
    this.backoffMs = Math.min(this.backoffMs * 2, probeIntervalMs === undefined ? maxRetryMs : Math.min(maxRetryMs, probeIntervalMs));
    this.nextTryAt = this.now() + this.backoffMs;
  }

  view(): MemberHealth {
    return {
      name: this.name,
      state: this.state,
      since: this.since,
      ...(this.why !== undefined ? { why: this.why } : {}),
      udp: this.udp,
      ...(this.latencyMs !== undefined ? { latencyMs: Math.round(this.latencyMs * 10) / 10 } : {}),
      activeFlows: this.activeFlows,
      failures: this.failures,
      failovers: this.failovers,
    };
  }
}

/** One member of a group: any named outbound (an upstream, a chain, another group) and its health in this group. */
export interface GroupMember {
  readonly outbound: Outbound;
  readonly health: HealthState;
}
