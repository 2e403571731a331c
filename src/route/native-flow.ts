import { NEED_MORE } from '../core/need-more.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { ClientConn } from '../adapter/client-conn.js';
import { errnoError } from '../native/errno-error.js';
import type { SpliceHandle, SpliceResult } from '../native/splice.js';
import { DialFailure, NativeDial } from '../native/tcp-dial.js';
import { handshakeFailure } from '../outbound/handshake.js';
import type { DialPlan } from '../adapter/handshake.js';
import { connectFailed, connectTimedOut } from '../outbound/tcp-connect.js';
import { relayEnded, reportDialFailure, type FlowInFlight, type FlowReportDeps } from '../relay/flow-report.js';
import { toRelayResult } from '../relay/splice-relay.js';
import { EARLY_CLOSE } from '../relay/tcp-relay.js';

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
 * Hands the flow to the splice relay. Its own function, so what stays reachable while the
 * connection lives (the session's stop, the end report) holds the flow and nothing of the dial.
 */
function startRelay(f: FlowInFlight, dial: NativeDial, consumed: number, deps: NativeSessionDeps): void {
  // Registered first: the relay may end inside splice() (both sides already closed).
  let relay: SpliceHandle | undefined;
  deps.sessions.add(f.flow.id, () => relay?.stop());
  relay = dial.splice(consumed, deps.idleMs, EARLY_CLOSE, (result: SpliceResult) => relayEnded(f, toRelayResult(result, 0), deps));
}

/**
 * Carries a flow in the addon from accept to close: it connects, writes the handshake's bytes and
 * splices; this only judges the server's replies (plan.handshake) and reports, as the Node socket
 * path does, so the two are indistinguishable in logs, metrics and status.
 */
export function runNativeSession(f: FlowInFlight, client: ClientConn, plan: DialPlan, deps: NativeSessionDeps): void {
  const { flow } = f;
  const { handshake } = plan;
  deps.observer?.opened(flow, f.outbound, f.target, f.rule);
  const failed = (err: unknown) => {
    plan.settle(err);
    reportDialFailure(f, err, deps);
  };
  let dial: NativeDial;
  try {
    const { server, mark, connectTimeoutMs, handshakeTimeoutMs } = plan;
    dial = new NativeDial(client.fd, { server, mark, opening: handshake.opening, connectTimeoutMs, handshakeTimeoutMs }, {
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
        try {
          startRelay(f, dial, progress.done, deps);
        } catch (err) {
          // EMFILE for a pipe, or a server that answered before taking the whole opening.
          dial.abort();
          failed(err);
          return;
        }
        plan.settle(undefined);
      },
      onFailure(failure, errno) {
        failed(dialError(plan, failure, errno));
      },
    });
  } catch (err) {
    // The addon could not even create the socket (EMFILE, EPERM for the mark): the client is still
    // ours. The daemon's own failure, not the upstream's: reported as is, as the Node socket path does.
    client.reset();
    failed(err);
    return;
  }
  deps.sessions.add(flow.id, () => {
    dial.abort();
    failed(new SgError(ErrorCode.SHUTDOWN, 'daemon stopping'));
  });
}
