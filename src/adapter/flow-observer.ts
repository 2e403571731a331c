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
 * Told once when a TCP flow starts and once when it ends (metrics, the status table). Called at the
 * session's edges only, never per chunk, so it costs nothing on the relay's hot path.
 */
export interface FlowObserver {
  /** `rule`: the route rule that chose the outbound, in its log text (Decision.rule). */
  opened(flow: Flow, outbound: string, target: SocksAddr | undefined, rule: string): void;
  closed(flow: Flow, outbound: string, end: FlowEnd): void;
}
