import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, errorCode, errorMessage } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { Logger } from '../core/log.js';
import type { FlowObserver, OpenedFlow } from '../adapter/flow-observer.js';
import type { Sessions } from './sessions.js';
import type { RelayResult } from './tcp-relay.js';

/** What reports a TCP flow's end, whichever path carried it. */
export interface FlowReportDeps {
  readonly sessions: Sessions;
  readonly log: Logger;
  /** Metrics and the status table; absent: nobody watches. */
  readonly observer?: FlowObserver;
}

/** A flow on its way: what its one log line at the end names (and what its observers are told). */
export type FlowInFlight = OpenedFlow;

function flowFields({ flow, outbound, rule, target }: FlowInFlight) {
  const fields = { flowId: flow.id, inbound: flow.inbound, ...(flow.user !== undefined ? { user: flow.user } : {}), src: formatAddr(flow.src), dst: formatAddr(flow.dst), outbound, rule };
  return target && target !== flow.dst ? { ...fields, target: formatAddr(target) } : fields;
}

/** The dial failed: logged once, here; the caller resets the client. */
export function reportDialFailure(f: FlowInFlight, err: unknown, deps: FlowReportDeps): void {
  deps.sessions.remove(f.flow.id);
  deps.observer?.closed(f.flow, f.outbound, { outcome: 'failed', reason: errorCode(err), bytesUp: 0, bytesDown: 0 });
  // A group with no member up says so itself, once per interval: not once per flow.
  const level = errorCode(err) === ErrorCode.NO_HEALTHY_MEMBER ? 'debug' : 'warn';
  deps.log[level]({ ...flowFields(f), reason: errorCode(err), ms: Date.now() - f.startedAt }, `flow failed: ${errorMessage(err)}`);
}

/** Reports the relay's end: a warning for a reset, else debug only. */
export function relayEnded(f: FlowInFlight, result: RelayResult, deps: FlowReportDeps, earlyBytes?: number): void {
  deps.sessions.remove(f.flow.id);
  deps.observer?.closed(f.flow, f.outbound, { outcome: result.outcome, reason: result.reason, bytesUp: result.bytesUp, bytesDown: result.bytesDown });
  const warn = result.outcome === 'reset' && result.reason && result.reason !== ErrorCode.CLIENT_RESET;
  if (!warn && !deps.log.isLevelEnabled('debug')) return; // the usual end: nothing to format
  const summary = { ...flowFields(f), outcome: result.outcome, up: result.bytesUp, down: result.bytesDown, ms: Date.now() - f.startedAt, earlyBytes };
  if (warn) {
    deps.log.warn({ ...summary, reason: result.reason }, `flow reset: ${result.detail ?? result.reason}`);
  } else {
    deps.log.debug({ ...summary, reason: result.reason }, 'flow finished');
  }
}
