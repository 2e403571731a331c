import type { SgError } from '../core/errors.js';
import type { DialPlan } from '../adapter/handshake.js';
import { errnoError } from '../native/errno-error.js';
import { DialFailure } from '../native/tcp-dial.js';
import { handshakeFailure } from './handshake.js';
import { connectFailed, connectTimedOut } from './tcp-connect.js';

type DialShape = Pick<DialPlan, 'server' | 'connectTimeoutMs' | 'handshakeTimeoutMs' | 'handshake'>;

/** A failure the addon's dialer reported, as the same error the Node socket path gives. */
export function nativeDialError(plan: DialShape, failure: number, errno: number): SgError {
  switch (failure) {
    case DialFailure.CONNECT_FAILED:
      return connectFailed(plan.server, errnoError(errno, 'connect'));
    case DialFailure.CONNECT_TIMEOUT:
      return connectTimedOut(plan.server, plan.connectTimeoutMs);
    case DialFailure.HANDSHAKE_TIMEOUT:
      return handshakeFailure('timeout', plan.handshake, plan.handshakeTimeoutMs);
    case DialFailure.EOF:
      return handshakeFailure('eof', plan.handshake, plan.handshakeTimeoutMs);
    default:
      return handshakeFailure('socket', plan.handshake, plan.handshakeTimeoutMs, errnoError(errno, 'recv'));
  }
}
