// Spies for what a TCP session reports to: its logger and its flow observer.
import type { FlowEnd, FlowObserver } from '../../src/adapter/flow-observer.js';
import type { FlowReportDeps } from '../../src/relay/flow-report.js';

interface Call {
  level: string;
  args: unknown[];
}

/** Records every log call; debug is off, as in production. */
export function fakeLogger() {
  const calls: Call[] = [];
  const record = (level: string) => (...args: unknown[]) => void calls.push({ level, args });
  const log = { warn: record('warn'), debug: record('debug'), info: record('info'), error: record('error'), isLevelEnabled: () => false };
  return { calls, log: log as unknown as FlowReportDeps['log'] };
}

/** Records opened and closed flows; closedOnce resolves at the first close. */
export function fakeObserver() {
  const opened: unknown[][] = [];
  const closed: { flowId: number; outbound: string; end: FlowEnd }[] = [];
  let onClosed!: () => void;
  const closedOnce = new Promise<void>((resolve) => (onClosed = resolve));
  const observer: FlowObserver = {
    opened: ({ flow, outbound, target, rule }) => void opened.push([flow.id, outbound, target, rule]),
    closed: (flow, outbound, end) => {
      closed.push({ flowId: flow.id, outbound, end });
      onClosed();
    },
  };
  return { observer, opened, closed, closedOnce };
}

