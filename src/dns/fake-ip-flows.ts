import type { Flow } from '../core/flow.js';
import type { FlowEnd, FlowObserver, OpenedFlow } from '../adapter/flow-observer.js';
import type { FakeIp } from './fake-ip.js';

/**
 * Keeps the pool address of every live TCP flow sent upstream by name from going to another name
 * (an application that still talks to it may open more connections to it), then passes each event
 * on to `next`. The observer hears every flow's start and end exactly once, whichever path carried it.
 */
export class FakeIpFlowHolds implements FlowObserver {
  /** The flows whose destination is held, so only those release one. */
  private readonly holding = new WeakSet<Flow>();

  constructor(
    private readonly fakeIp: FakeIp,
    private readonly next: FlowObserver,
  ) {}

  opened(opened: OpenedFlow): void {
    const { flow, target } = opened;
    if (target?.kind === 'domain' && flow.dst.kind !== 'domain' && this.fakeIp.hold(flow.dst.host)) this.holding.add(flow);
    this.next.opened(opened);
  }

  closed(flow: Flow, outbound: string, end: FlowEnd): void {
    if (this.holding.delete(flow)) this.fakeIp.release(flow.dst.host);
    this.next.closed(flow, outbound, end);
  }
}
