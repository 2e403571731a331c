import type { Socket } from 'node:net';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, errorCode, errorMessage } from '../core/errors.js';
import type { DialContext, Outbound } from '../outbound/outbound.js';

/** One upstream as `socksgate status` shows it. */
export interface UpstreamHealth {
  readonly name: string;
  readonly server: string;
  /** 'pipelined' | 'stepwise' | 'learning' (auto mode, not decided yet) | 'n/a' (one-request protocols). */
  readonly pipelining: string;
  readonly dials: number;
  readonly failures: number;
  readonly lastError?: { readonly reason: string; readonly message: string; readonly at: number };
}

/**
 * Wraps a dialer to time it: `dial` runs from the TCP connect to the proxy's reply, which is
 * exactly the handshake latency, so no dialer needs editing. Remembers the last failure for status.
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

  takesEarlyData(): boolean {
    return this.inner.takesEarlyData?.() ?? false;
  }

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const startedAt = process.hrtime.bigint();
    this.dials++;
    try {
      const socket = await this.inner.dial(dst, ctx);
      this.onHandshake?.(this.name, Number(process.hrtime.bigint() - startedAt) / 1e9);
      return socket;
    } catch (err) {
      // A client that gave up says nothing about the upstream's health.
      if (errorCode(err) !== ErrorCode.ABORTED) {
        this.failures++;
        this.lastError = { reason: errorCode(err), message: errorMessage(err), at: Date.now() };
      }
      throw err;
    }
  }

  health(): UpstreamHealth {
    const learner = (this.inner as { pipelining?: { current: string | undefined } }).pipelining;
    return {
      name: this.name,
      server: formatAddr(this.server),
      pipelining: learner ? (learner.current ?? 'learning') : 'n/a',
      dials: this.dials,
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
