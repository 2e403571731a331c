import type { Socket } from 'node:net';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, errorCode, errorMessage } from '../core/errors.js';
import { notAHop } from './chain/chain-handshake.js';
import type { ChainLeg, DialPlan, LegCommand } from '../adapter/handshake.js';
import type { DialContext, Outbound } from '../adapter/outbound.js';
import type { UpstreamHealth } from '../adapter/upstream-health.js';
import type { UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import { wrappedPlan } from './wrapped-plan.js';

/**
 * Wraps a dialer to time it: `dial` (or a plan, until settled) runs from the TCP connect to the
 * proxy's reply, which is exactly the handshake latency, so no dialer needs editing. Remembers the
 * last failure for status.
 */
export class WatchedOutbound implements Outbound {
  private dials = 0;
  private failures = 0;
  private lastError?: UpstreamHealth['lastError'];

  constructor(
    readonly inner: Outbound,
    private readonly onHandshake?: (upstream: string, seconds: number) => void,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get server(): SocksAddr {
    return this.inner.server;
  }

  start(): void {
    this.inner.start?.();
  }

  associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    return this.inner.associate(client, events, signal);
  }

  /** Present when the inner outbound can BIND (a BIND says nothing of the upstream's health for flows). */
  get bind(): Outbound['bind'] {
    return this.inner.bind?.bind(this.inner);
  }

  /** A leg of a chain is timed and counted by the chain that runs it, not here. */
  leg(dst: SocksAddr, command: LegCommand): ChainLeg {
    if (!this.inner.leg) throw notAHop(this.name);
    return this.inner.leg(dst, command);
  }

  takesEarlyData(): boolean {
    return this.inner.takesEarlyData?.() ?? false;
  }

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const startedAt = process.hrtime.bigint();
    this.dials++;
    try {
      const socket = await this.inner.dial(dst, ctx);
      this.succeeded(startedAt);
      return socket;
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  /** The inner plan, its settle doing what dial does when the native dialer finishes it. */
  plan(dst: SocksAddr): DialPlan | undefined {
    const startedAt = process.hrtime.bigint();
    let plan: DialPlan | undefined;
    try {
      plan = this.inner.plan?.(dst);
    } catch (err) {
      // The dial was refused before it began, as dial would have been: a failed dial all the same.
      this.dials++;
      this.failed(err);
      throw err;
    }
    if (plan === undefined) return undefined;
    this.dials++;
    const inner = plan;
    return wrappedPlan(inner, {
      settle: (err) => {
        inner.settle(err);
        if (err === undefined) this.succeeded(startedAt);
        else this.failed(err);
      },
      // Passed on as they are: this wrapper only times the dial.
      retry: inner.retry && (() => inner.retry!()),
      closed: inner.closed && (() => inner.closed!()),
    });
  }

  private succeeded(startedAt: bigint): void {
    this.onHandshake?.(this.name, Number(process.hrtime.bigint() - startedAt) / 1e9);
  }

  private failed(err: unknown): void {
    // A client that gave up says nothing about the upstream's health.
    if (errorCode(err) === ErrorCode.ABORTED) return;
    this.failures++;
    this.lastError = { reason: errorCode(err), message: errorMessage(err), at: Date.now() };
  }

  health(): UpstreamHealth {
    return {
      name: this.name,
      server: formatAddr(this.server),
      pipelining: this.inner.pipeliningState?.() ?? 'n/a',
      dials: this.dials,
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
