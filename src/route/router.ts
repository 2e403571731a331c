import type { SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { ClientConn } from '../adapter/client-conn.js';
import type { Outbound } from '../adapter/outbound.js';
import type { Decision, Router } from '../adapter/router.js';
import { dispatchTcp, type TcpDispatchDeps } from './tcp-dispatch.js';

/** Takes the datagrams of UDP flows: the association table of the UDP service, while one runs. */
export type DatagramHandler = (src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number) => void;

/**
 * The one router of a daemon. Until rules land, every flow goes to the first configured upstream
 * (the `final` choice). A reload swaps the outbounds in one assignment: flows already decided keep
 * theirs, the next decision sees the new ones.
 */
export class FlowRouter<T extends Outbound = Outbound> implements Router {
  private list!: readonly T[];
  private final!: Decision;
  private datagrams?: DatagramHandler;

  constructor(
    outbounds: readonly T[],
    private readonly tcp: TcpDispatchDeps,
  ) {
    this.swap(outbounds);
  }

  get outbounds(): readonly T[] {
    return this.list;
  }

  swap(outbounds: readonly T[]): void {
    if (outbounds.length === 0) throw new RangeError('a router needs at least one outbound');
    this.list = outbounds;
    this.final = Object.freeze({ outbound: outbounds[0], rule: 'final' });
  }

  /** Where routeDatagram sends datagrams (undefined: UDP is not served, they are dropped). */
  serveDatagrams(handler: DatagramHandler | undefined): void {
    this.datagrams = handler;
  }

  decide(_flow: Flow): Decision {
    return this.final;
  }

  routeTcp(flow: Flow, client: ClientConn): void {
    dispatchTcp(flow, client, this.decide(flow).outbound, this.tcp).catch((err: unknown) => {
      // dispatchTcp reports its own failures; anything reaching here is a bug, and costs one flow only.
      this.tcp.log.error({ flowId: flow.id, reason: errorCode(err) }, `flow dispatch failed: ${errorMessage(err)}`);
      client.reset();
    });
  }

  routeDatagram(src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number): void {
    this.datagrams?.(src, dst, data, headroom);
  }
}
