import { ErrorCode, SgError } from '../../core/errors.js';
import { NEED_MORE } from '../../core/need-more.js';
import type { ChainLeg, Handshake, HandshakeProgress } from '../../adapter/handshake.js';

/** A leg and how errors name its hop ("hop 2 (b)"). */
export interface NamedLeg {
  readonly hop: string;
  readonly leg: ChainLeg;
}

/**
 * The handshakes of a chain's legs as one: leg 1 runs on the connection to hop 1's server, and once
 * it is done the stream reaches hop 2, where leg 2 runs, and so on. Whenever a leg's server reads
 * bytes behind its request, the next leg's opening goes in the same write, so a chain of hops that
 * all take a pipelined handshake costs one round trip after the TCP connect, like a single hop.
 * Errors name the hop they came from.
 */
export class ChainHandshake implements Handshake {
  readonly opening: Buffer;
  /** The early data went in a write with the last leg's opening (else the caller writes it after). */
  readonly carriesEarlyData: boolean;
  /** The leg whose replies are being read. */
  private at = 0;
  /** How many legs have had their opening written. */
  private written = 0;
  /** Where the current leg's replies start in what the first server sent. */
  private base = 0;

  constructor(
    private readonly legs: readonly NamedLeg[],
    private readonly earlyData?: Buffer,
  ) {
    if (legs.length === 0) throw new RangeError('a chain needs at least one leg');
    this.carriesEarlyData = earlyData !== undefined && legs[legs.length - 1].leg.takesTrailingBytes;
    this.opening = this.burst();
  }

  /** The index of the leg being run; where it stopped once it failed. */
  get current(): number {
    return this.at;
  }

  get expecting(): string {
    const { hop, leg } = this.legs[Math.min(this.at, this.legs.length - 1)];
    return `${leg.handshake.expecting} from ${hop}`;
  }

  advance(received: Buffer): HandshakeProgress {
    for (;;) {
      const { hop, leg } = this.legs[this.at];
      let progress: HandshakeProgress;
      try {
        progress = leg.handshake.advance(received.subarray(this.base));
      } catch (err) {
        throw err instanceof SgError ? new SgError(err.code, `${hop}: ${err.message}`, { cause: err }) : err;
      }
      if (progress === NEED_MORE || 'send' in progress) return progress;
      this.base += progress.done;
      this.at++;
      if (this.at === this.legs.length) return { done: this.base };
      // Not written yet: the leg before does not read bytes behind its request, so nothing of this
      // leg can have been answered, and its opening goes now.
      if (this.written === this.at) return { send: this.burst() };
    }
  }

  /** Records how the chain's dial ended (undefined: success): the legs before the failed one succeeded. */
  settle(err: unknown): void {
    const failed = err === undefined ? this.legs.length : Math.min(this.at, this.legs.length - 1);
    this.legs.forEach(({ leg }, i) => {
      if (i < failed) leg.settle(undefined);
      else if (i === failed) leg.settle(err);
    });
  }

  /** The next leg's opening, followed by the ones after it as long as each server reads what trails its request. */
  private burst(): Buffer {
    const parts: Buffer[] = [];
    do {
      parts.push(this.legs[this.written].leg.handshake.opening);
      this.written++;
    } while (this.written < this.legs.length && this.legs[this.written - 1].leg.takesTrailingBytes);
    if (this.written === this.legs.length && this.carriesEarlyData) parts.push(this.earlyData!);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

/** A chain needs every hop to be something that can run a leg. */
export function notAHop(name: string): SgError {
  return new SgError(ErrorCode.UPSTREAM_REFUSED, `${name} cannot be a hop of a chain`);
}
