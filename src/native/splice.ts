import { getSystemErrorName } from 'node:util';
import { nativeBinding } from './index.js';

/** How a spliced relay ended; mirrors the OUTCOME_* values in splice.c. */
export const SpliceOutcome = { CLOSED: 0, RESET: 1, IDLE: 2, STOPPED: 3, UPSTREAM_CLOSED_EARLY: 4, NO_PIPE: 5 } as const;

export interface SpliceResult {
  readonly outcome: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** For a reset: which side failed and the errno name (e.g. ECONNRESET); for NO_PIPE, the errno name. */
  readonly side: 'client' | 'upstream';
  readonly code?: string;
}

interface SpliceBinding {
  spliceRelay(
    clientFd: number,
    upstreamFd: number,
    headDown: Buffer | null,
    headUp: Buffer | null,
    idleMs: number,
    earlyCloseMs: number,
    earlyCloseMaxUp: number,
    onDone: (outcome: number, bytesUp: number, bytesDown: number, errno: number, side: number) => void,
  ): object;
  spliceRelayStop(handle: object): void;
}

export interface SpliceHandle {
  stop(): void;
}

/**
 * Hands two connected sockets' fds to the kernel-side relay (it duplicates them; the caller then
 * closes its own). `head*` are bytes already read from one side that the other must get first.
 */
export function spliceRelay(
  fds: { client: number; upstream: number },
  heads: { down: Buffer | null; up: Buffer | null },
  idleMs: number,
  earlyClose: { withinMs: number; maxBytesUp: number },
  onDone: (result: SpliceResult) => void,
): SpliceHandle {
  const binding = nativeBinding() as unknown as SpliceBinding;
  const handle = binding.spliceRelay(fds.client, fds.upstream, heads.down, heads.up, idleMs, earlyClose.withinMs, earlyClose.maxBytesUp, spliceDone(onDone));
  return { stop: () => binding.spliceRelayStop(handle) };
}

/** The addon's onDone arguments as a SpliceResult. */
export function spliceDone(onDone: (result: SpliceResult) => void) {
  return (outcome: number, bytesUp: number, bytesDown: number, errno: number, side: number): void => {
    onDone({ outcome, bytesUp, bytesDown, side: side === 0 ? 'client' : 'upstream', code: errno > 0 ? getSystemErrorName(-errno) : undefined });
  };
}
