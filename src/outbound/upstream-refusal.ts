import { ErrorCode, SgError } from '../core/errors.js';
import { socks5ReplyReason } from '../codec/socks5.js';

/**
 * A SOCKS5 upstream answered the request with a failure: its REP is kept, so a client of the
 * proxy inbound can be told the same reason (host unreachable, refused, …).
 */
export class Socks5Refusal extends SgError {
  constructor(readonly reply: number) {
    super(ErrorCode.UPSTREAM_REFUSED, `upstream refused: ${socks5ReplyReason(reply)}`);
  }
}
