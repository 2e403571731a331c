import type { SocksAddr } from '../core/addr.js';
import type { Flow } from '../core/flow.js';

/** How a flow ended: the relay's outcome, or 'failed' when no upstream connection was made. */
export interface FlowEnd {
  readonly outcome: 'closed' | 'reset' | 'idle' | 'stopped' | 'failed';
  readonly reason?: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/**
 * A TCP flow as it opens: what its one log line at the end names. Observers may keep it as given
 * until the flow closes (the status table does), so a live flow's record exists once.
 */
export interface OpenedFlow {
  readonly flow: Flow;
  readonly outbound: string;
  /** The route rule that chose the outbound, in its log text (Decision.rule). */
  readonly rule: string;
  /** What the upstream is asked for; undefined: a fake-IP address with no name. */
  readonly target: SocksAddr | undefined;
  /** Date.now() when the flow was accepted. */
  readonly startedAt: number;
}

/**
 * Told once when a TCP flow starts and once when it ends (metrics, the status table). Called at the
 * session's edges only, never per chunk, so it costs nothing on the relay's hot path.
 */
export interface FlowObserver {
  opened(flow: OpenedFlow): void;
  closed(flow: Flow, outbound: string, end: FlowEnd): void;
}
