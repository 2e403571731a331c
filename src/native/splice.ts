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
  spliceRelayOnDone(onDone: (token: number, outcome: number, bytesUp: number, bytesDown: number, errno: number, side: number) => void): void;
  spliceRelay(clientFd: number, upstreamFd: number, headDown: Buffer | null, headUp: Buffer | null, idleMs: number, earlyCloseMs: number, earlyCloseMaxUp: number, token: number): number;
  spliceRelayStop(handle: number): void;
}

/**
 * Told once when its relay ends. An object with a method rather than a callback: what a live relay
 * keeps in JS is its owner and one map entry, not a closure and its context per relay.
 */
export interface SpliceOwner {
  spliceEnded(result: SpliceResult): void;
}

/** The owner of every live relay, by the token the addon reports its end with. */
const owners = new Map<number, SpliceOwner>();
let lastToken = 0;
let binding: SpliceBinding | undefined;

function spliceBinding(): SpliceBinding {
  if (binding === undefined) {
    binding = nativeBinding() as unknown as SpliceBinding;
    binding.spliceRelayOnDone(spliceDone);
  }
  return binding;
}

function spliceDone(token: number, outcome: number, bytesUp: number, bytesDown: number, errno: number, side: number): void {
  const owner = owners.get(token);
  if (owner === undefined) return;
  owners.delete(token);
  owner.spliceEnded({ outcome, bytesUp, bytesDown, side: side === 0 ? 'client' : 'upstream', code: errno > 0 ? getSystemErrorName(-errno) : undefined });
}

/**
 * Runs `start` with a fresh token under which `owner` hears the relay's end: registered first, as
 * the relay may end inside the call (both sides already closed). Returns the relay's handle.
 */
export function ownedRelay(owner: SpliceOwner, start: (token: number) => number): number {
  spliceBinding();
  // A Smi that no live relay holds, however long ago it started.
  do lastToken = (lastToken + 1) & 0x3fffffff;
  while (owners.has(lastToken));
  const token = lastToken;
  owners.set(token, owner);
  try {
    return start(token);
  } catch (err) {
    owners.delete(token);
    throw err;
  }
}

/**
 * Hands two connected sockets' fds to the kernel-side relay (it duplicates them; the caller then
 * closes its own). `head*` are bytes already read from one side that the other must get first.
 * Returns the handle stopSplice takes.
 */
export function spliceRelay(
  fds: { client: number; upstream: number },
  heads: { down: Buffer | null; up: Buffer | null },
  idleMs: number,
  earlyClose: { withinMs: number; maxBytesUp: number },
  owner: SpliceOwner,
): number {
  return ownedRelay(owner, (token) => spliceBinding().spliceRelay(fds.client, fds.upstream, heads.down, heads.up, idleMs, earlyClose.withinMs, earlyClose.maxBytesUp, token));
}

/** Resets both sides of a relay now; nothing once it has ended. */
export function stopSplice(handle: number): void {
  spliceBinding().spliceRelayStop(handle);
}
