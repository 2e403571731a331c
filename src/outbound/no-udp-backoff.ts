import { ErrorCode, SgError, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** How a server turns a UDP ASSOCIATE down: REP≠0 (microsocks: 7, command not supported) or a close without a reply (ssh -D). */
export function isRefusal(err: unknown): boolean {
  const code = errorCode(err);
  return code === ErrorCode.UPSTREAM_REFUSED || code === ErrorCode.UPSTREAM_CLOSED || code === ErrorCode.UPSTREAM_RESET;
}

/**
 * An upstream (or chain) that showed it cannot relay UDP: warned about once, then refused without
 * a dial for `retryMs`, so each new UDP client does not cost a failing handshake.
 */
export class NoUdpBackoff {
  private until = 0;
  private warned = false;

  constructor(
    private readonly name: string,
    private readonly retryMs: number,
    private readonly log: Logger,
  ) {}

  /** Throws SG_ERR_UDP_UNSUPPORTED while backing off. */
  check(): void {
    if (Date.now() < this.until) throw new SgError(ErrorCode.UDP_UNSUPPORTED, `${this.name} does not relay UDP`);
  }

  /** Starts backing off after `err` (the refusal); returns the error to reject the association with. */
  refused(err: unknown): SgError {
    this.until = Date.now() + this.retryMs;
    if (!this.warned) {
      this.warned = true;
      this.log.warn({ upstream: this.name, reason: errorCode(err) }, `upstream does not relay UDP (${errorMessage(err)}): UDP datagrams for it are dropped`);
    }
    return new SgError(ErrorCode.UDP_UNSUPPORTED, `${this.name} does not relay UDP: ${errorMessage(err)}`, { cause: err });
  }
}
