import { NEED_MORE } from '../core/need-more.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { ClientConn, DialAnswer } from '../adapter/client-conn.js';
import { clientSend } from '../native/client-read.js';
import type { Flow } from '../core/flow.js';
import type { SocksAddr } from '../core/addr.js';
import { stopSplice, type SpliceOwner, type SpliceResult } from '../native/splice.js';
import { NativeDial } from '../native/tcp-dial.js';
import { nativeDialError } from '../outbound/native-dial-error.js';
import type { DialPlan } from '../adapter/handshake.js';
import { relayEnded, reportDialFailure, type FlowInFlight, type FlowReportDeps } from '../relay/flow-report.js';
import { toRelayResult } from '../relay/splice-relay.js';
import { EARLY_CLOSE } from '../relay/tcp-relay.js';

export interface NativeSessionDeps extends FlowReportDeps {
  readonly idleMs: number;
}

/**
 * A flow in the addon, and the one object it keeps in JS while it lives: its record for the end
 * report and the status table (FlowInFlight), its session (stop) and its relay's owner
 * (spliceEnded). Methods, not closures: a live flow holds no function or context of its own.
 */
class NativeFlow implements FlowInFlight, SpliceOwner {
  readonly flow: Flow;
  readonly outbound: string;
  readonly rule: string;
  readonly target: SocksAddr | undefined;
  readonly startedAt: number;
  /** The splice relay's handle once the handshake is over; -1 before. */
  private relay = -1;
  /** What the plan wants run when the relay ends (a group counting its members' flows). */
  private closed: (() => void) | undefined;

  constructor(
    f: FlowInFlight,
    private readonly deps: NativeSessionDeps,
  ) {
    ({ flow: this.flow, outbound: this.outbound, rule: this.rule, target: this.target, startedAt: this.startedAt } = f);
  }

  /**
   * Hands both sides to the splice relay (`unsent`: the client's early bytes, for the upstream
   * first); registered as the session first: the relay may end inside splice().
   */
  startRelay(dial: NativeDial, consumed: number, unsent: Buffer | undefined, closed: (() => void) | undefined): void {
    this.closed = closed;
    this.deps.sessions.add(this.flow.id, this);
    this.relay = dial.splice(consumed, unsent, this.deps.idleMs, EARLY_CLOSE, this);
  }

  stop(): void {
    if (this.relay >= 0) stopSplice(this.relay);
  }

  spliceEnded(result: SpliceResult): void {
    this.closed?.();
    relayEnded(this, toRelayResult(result, 0), this.deps);
  }
}

/**
 * A proxy client's success reply, written before the relay starts so it precedes every relayed
 * byte: a few bytes on a socket that has sent nothing yet, which the kernel takes whole. False
 * when the client is gone (the flow then ends as the Node path ends it: closed before the relay).
 */
function answerConnected(client: ClientConn, answer: Required<DialAnswer>, dial: NativeDial): boolean {
  const bytes = answer.successReply(dial.bound());
  return clientSend(client.fd, bytes) === bytes.length;
}

/**
 * Carries a flow in the addon from accept to close: it connects, writes the handshake's bytes and
 * splices; this only judges the server's replies (plan.handshake) and reports, as the Node socket
 * path does, so the two are indistinguishable in logs, metrics and status. A plan that can be
 * retried (a group's) keeps the client open when its dial fails before the relay, and the next
 * member's plan runs on the same client: it never sees the first member's failure.
 */
export function runNativeSession(f: FlowInFlight, client: ClientConn, plan: DialPlan, deps: NativeSessionDeps): void {
  const nf = new NativeFlow(f, deps);
  deps.observer?.opened(nf);
  dialNative(nf, client, plan, deps);
}

function dialNative(f: NativeFlow, client: ClientConn, plan: DialPlan, deps: NativeSessionDeps): void {
  const { flow } = f;
  const { handshake } = plan;
  const { answer } = client;
  // A proxy client is answered on failure, so the addon leaves it open then, as for a retry.
  const keepClient = plan.retry !== undefined || answer !== undefined;
  /** The dial failed; `clientOpen`: the addon left the client to us, to dial again on (unless stopping), answer or reset. */
  const failed = (err: unknown, clientOpen: boolean, mayRetry = clientOpen) => {
    plan.settle(err);
    const next = mayRetry ? plan.retry?.() : undefined;
    if (next) return dialNative(f, client, next, deps);
    if (clientOpen) {
      if (answer) answer.failed(err);
      else client.reset();
    }
    reportDialFailure(f, err, deps);
  };
  let dial: NativeDial;
  try {
    const { server, mark, connectTimeoutMs, handshakeTimeoutMs } = plan;
    dial = new NativeDial(client.fd, { server, mark, opening: handshake.opening, connectTimeoutMs, handshakeTimeoutMs, keepClient }, {
      onData(received) {
        let progress;
        try {
          progress = handshake.advance(received);
        } catch (err) {
          dial.abort(keepClient);
          failed(err, keepClient);
          return;
        }
        if (progress === NEED_MORE) return;
        if ('send' in progress) {
          dial.send(progress.send);
          return;
        }
        if (answer?.successReply && !answerConnected(client, answer as Required<DialAnswer>, dial)) {
          dial.abort();
          plan.settle(undefined);
          const detail = 'closed before the relay started';
          relayEnded(f, { outcome: 'reset', reason: ErrorCode.CLIENT_RESET, detail, bytesUp: 0, bytesDown: 0 }, deps);
          plan.closed?.();
          return;
        }
        try {
          f.startRelay(dial, progress.done, client.unsent, plan.closed);
        } catch (err) {
          // EMFILE for a pipe, or a server that answered before taking the whole opening: not retried.
          dial.abort();
          failed(err, false);
          return;
        }
        plan.settle(undefined);
      },
      onFailure(failure, errno) {
        failed(nativeDialError(plan, failure, errno), keepClient);
      },
    });
  } catch (err) {
    // The addon could not even create the socket (EMFILE, EPERM for the mark): the client is still
    // ours. The daemon's own failure, not the upstream's: reported as is, as the Node socket path does.
    if (answer) answer.failed(err);
    else client.reset();
    failed(err, false);
    return;
  }
  // Stopped mid-dial: a proxy client is answered (general failure), as the Node path's aborted dial is; nothing is retried.
  deps.sessions.add(flow.id, () => {
    dial.abort(keepClient);
    failed(new SgError(ErrorCode.SHUTDOWN, 'daemon stopping'), keepClient, false);
  });
}
