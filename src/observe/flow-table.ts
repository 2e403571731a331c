import { formatAddr } from '../core/addr.js';
import type { Flow } from '../core/flow.js';
import type { FlowEnd, FlowObserver, OpenedFlow } from '../adapter/flow-observer.js';

/** One live flow as `socksgate status` shows it. */
export interface LiveFlow {
  readonly id: number;
  readonly inbound: string;
  /** Who the client logged in as (proxy inbound); absent: nobody did. */
  readonly user?: string;
  readonly src: string;
  readonly dst: string;
  /** The name asked of the upstream when it differs from dst (fake-IP, sniffed). */
  readonly target?: string;
  readonly outbound: string;
  /** The route rule that chose the outbound, in its log text. Absent from daemons without routing. */
  readonly rule?: string;
  readonly startedAt: number;
}

/** The flows open right now, for the status table; passes every event on to `next` (metrics). */
export class FlowTable implements FlowObserver {
  /**
   * The flows' own records, kept as given and formatted only when listed: an idle flow should cost
   * the daemon next to nothing.
   */
  private readonly live = new Map<number, OpenedFlow>();

  constructor(private readonly next?: FlowObserver) {}

  opened(opened: OpenedFlow): void {
    this.live.set(opened.flow.id, opened);
    this.next?.opened(opened);
  }

  closed(flow: Flow, outbound: string, end: FlowEnd): void {
    this.live.delete(flow.id);
    this.next?.closed(flow, outbound, end);
  }

  list(): LiveFlow[] {
    return Array.from(this.live.values(), ({ flow, outbound, target, rule, startedAt }) => {
      const dst = formatAddr(flow.dst);
      const shown = target ? formatAddr(target) : undefined;
      return {
        id: flow.id,
        inbound: flow.inbound,
        ...(flow.user !== undefined ? { user: flow.user } : {}),
        src: formatAddr(flow.src),
        dst,
        ...(shown && shown !== dst ? { target: shown } : {}),
        outbound,
        rule,
        startedAt,
      };
    });
  }
}
