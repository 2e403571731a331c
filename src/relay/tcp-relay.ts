import type { Socket } from 'node:net';
import { ErrorCode, type ErrorCodeValue, errorCode } from '../core/errors.js';

export type RelayOutcome = 'closed' | 'reset' | 'idle' | 'stopped';

export interface RelayResult {
  readonly outcome: RelayOutcome;
  /**
   * Why the relay did not end in two clean closes: a catalogued reason, or the errno of a syscall of
   * the daemon's own that failed (EMFILE for want of a pipe), as a failed dial reports one.
   */
  readonly reason?: ErrorCodeValue | string;
  readonly detail?: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/**
 * When an upstream EOF with no data back counts as a failed connect: v2ray answers success before
 * it dials and closes 1–2 s after the dial fails, when the client has sent little more than its
 * request. An upload-only stream (iperf3) that the server ends legitimately has sent far more.
 */
export const EARLY_CLOSE = { withinMs: 5_000, maxBytesUp: 1024 * 1024 } as const;

export interface RelayOptions {
  /** Close both sides after this long without traffic either way; 0 disables. */
  readonly idleMs: number;
  /**
   * Client bytes already delivered upstream before the relay (optimistic data in the handshake).
   * The copying relay counts them anyway (client.bytesRead); the kernel relay adds them.
   */
  readonly sentUp?: number;
}

export interface Relay {
  readonly done: Promise<RelayResult>;
  /** Ends the relay now (shutdown drain deadline): both sides are reset. */
  stop(): void;
}

/**
 * Copies bytes both ways with backpressure (pipe) and honours half-close: EOF from one side becomes
 * shutdown(SHUT_WR) on the other while the opposite direction keeps flowing. A reset or error on
 * either side resets the other, so the application sees a failure rather than a clean end.
 */
export function relayTcp(client: Socket, upstream: Socket, opts: RelayOptions): Relay {
  let settle!: (result: RelayResult) => void;
  const done = new Promise<RelayResult>((resolve) => (settle = resolve));
  let ending: Omit<RelayResult, 'bytesUp' | 'bytesDown'> | undefined;
  let clientEnded = false;
  const startedAt = Date.now();
  let closedCount = 0;

  function end(result: Omit<RelayResult, 'bytesUp' | 'bytesDown'>, reset: boolean) {
    if (ending) return;
    ending = result;
    if (reset) {
      for (const s of [client, upstream]) if (!s.destroyed) s.resetAndDestroy();
    } else {
      client.destroy();
      upstream.destroy();
    }
  }
  function onClose() {
    if (++closedCount < 2) return;
    settle({ ...(ending ?? { outcome: 'closed' }), bytesUp: client.bytesRead, bytesDown: client.bytesWritten });
  }

  client.on('end', () => {
    clientEnded = true;
    upstream.end();
  });
  upstream.on('end', () => {
    // v2ray answers success before it dials and ssh -D may close right after: an upstream that ends
    // before sending a single byte while the client still talks is a failed connect, not a clean end.
    const early = Date.now() - startedAt < EARLY_CLOSE.withinMs && client.bytesRead < EARLY_CLOSE.maxBytesUp;
    if (!clientEnded && client.bytesWritten === 0 && early) {
      end({ outcome: 'reset', reason: ErrorCode.UPSTREAM_CLOSED, detail: 'upstream closed before sending any data; the destination was probably unreachable' }, true);
      return;
    }
    client.end();
  });
  for (const [side, reason] of [
    [client, ErrorCode.CLIENT_RESET],
    [upstream, ErrorCode.UPSTREAM_RESET],
  ] as const) {
    side.on('error', (err) => end({ outcome: 'reset', reason, detail: errorCode(err) }, true));
    side.on('close', onClose);
    if (opts.idleMs > 0) {
      side.setTimeout(opts.idleMs, () => end({ outcome: 'idle', reason: ErrorCode.IDLE_TIMEOUT, detail: `no traffic for ${opts.idleMs} ms` }, false));
    }
  }
  client.pipe(upstream, { end: false });
  upstream.pipe(client, { end: false });
  return {
    done,
    stop: () => end({ outcome: 'stopped', reason: ErrorCode.SHUTDOWN, detail: 'daemon stopping' }, true),
  };
}
