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

/**
 * The owner of every live relay, at the token the addon reports its end with: an index, reused
 * once its relay has ended. A live relay costs this array one slot (8 bytes); a Map keyed by
 * ever-growing tokens cost ~46 bytes per idle relay at 5,000 (3 slots per entry and a table
 * that doubles as it grows).
 */
let owners: (SpliceOwner | undefined)[] = [];
/** Tokens whose relays have ended, to give out again. */
let freeTokens: number[] = [];
let binding: SpliceBinding | undefined;

function spliceBinding(): SpliceBinding {
  if (binding === undefined) {
    binding = nativeBinding() as unknown as SpliceBinding;
    binding.spliceRelayOnDone(spliceDone);
  }
  return binding;
}

function spliceDone(token: number, outcome: number, bytesUp: number, bytesDown: number, errno: number, side: number): void {
  const owner = owners[token];
  if (owner === undefined) return;
  release(token);
  owner.spliceEnded({ outcome, bytesUp, bytesDown, side: side === 0 ? 'client' : 'upstream', code: errno > 0 ? getSystemErrorName(-errno) : undefined });
}

/**
 * Runs `start` with a fresh token under which `owner` hears the relay's end: registered first, as
 * the relay may end inside the call (both sides already closed). Returns the relay's handle.
 */
export function ownedRelay(owner: SpliceOwner, start: (token: number) => number): number {
  spliceBinding();
  // A small integer that no live relay holds.
  const token = freeTokens.pop() ?? owners.length;
  owners[token] = owner;
  try {
    return start(token);
  } catch (err) {
    // Unless its end was reported inside the call: the token is free already.
    if (owners[token] === owner) release(token);
    throw err;
  }
}

/** Frees a token; once no relay is live, the arrays a burst grew go too. */
function release(token: number): void {
  owners[token] = undefined;
  freeTokens.push(token);
  if (freeTokens.length === owners.length) {
    owners = [];
    freeTokens = [];
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
