import { NEED_MORE } from '../codec/need-more.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { AcceptedClient } from '../inbound/accepted-client.js';
import { errnoError } from '../native/errno-error.js';
import type { SpliceResult } from '../native/splice.js';
import { DialFailure, NativeDial } from '../native/tcp-dial.js';
import { handshakeFailure, type DialPlan } from '../outbound/handshake.js';
import { connectFailed, connectTimedOut } from '../outbound/tcp-connect.js';
import { finishRelay, reportDialFailure, type FlowInFlight, type FlowReportDeps } from './flow-report.js';
import { toRelayResult } from './splice-relay.js';
import { EARLY_CLOSE, type RelayResult } from './tcp-relay.js';

export interface NativeSessionDeps extends FlowReportDeps {
  readonly idleMs: number;
}

/** A failure the addon reported, as the same error the Node socket path gives. */
function dialError(plan: DialPlan, failure: number, errno: number): SgError {
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

/**
 * Carries a flow in the addon from accept to close: it connects, writes the handshake's bytes and
 * splices; this only judges the server's replies (plan.handshake) and reports, as the Node socket
 * path does, so the two are indistinguishable in logs, metrics and status.
 */
export function runNativeSession(f: FlowInFlight, client: AcceptedClient, plan: DialPlan, deps: NativeSessionDeps): void {
  const { flow } = f;
  const { handshake } = plan;
  deps.observer?.opened(flow, f.outbound, f.target);
  const failed = (err: unknown) => {
    plan.settle(err);
    reportDialFailure(f, err, deps);
  };
  let dial: NativeDial;
  try {
    dial = new NativeDial(client.fd, { ...plan, opening: handshake.opening }, {
      onData(received) {
        let progress;
        try {
          progress = handshake.advance(received);
        } catch (err) {
          dial.abort();
          failed(err);
          return;
        }
        if (progress === NEED_MORE) return;
        if ('send' in progress) {
          dial.send(progress.send);
          return;
        }
        let settle!: (result: RelayResult) => void;
        const done = new Promise<RelayResult>((resolve) => (settle = resolve));
        let relay;
        try {
          relay = dial.splice(progress.done, deps.idleMs, EARLY_CLOSE, (result: SpliceResult) => settle(toRelayResult(result, 0)));
        } catch (err) {
          // EMFILE for a pipe, or a server that answered before taking the whole opening.
          dial.abort();
          failed(err);
          return;
        }
        plan.settle(undefined);
        deps.sessions.add(flow.id, relay.stop);
        void finishRelay(f, done, deps);
      },
      onFailure(failure, errno) {
        failed(dialError(plan, failure, errno));
      },
    });
  } catch (err) {
    // The addon could not even create the socket (EMFILE, EPERM for the mark): the client is still ours.
    client.reset();
    failed(connectFailed(plan.server, err));
    return;
  }
  deps.sessions.add(flow.id, () => {
    dial.abort();
    failed(new SgError(ErrorCode.SHUTDOWN, 'daemon stopping'));
  });
}
