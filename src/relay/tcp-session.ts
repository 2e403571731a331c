import type { Socket } from 'node:net';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode, errorMessage } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { Logger } from '../observe/logger.js';
import type { Outbound } from '../outbound/outbound.js';
import type { FlowObserver } from './flow-observer.js';
import type { Sessions } from './sessions.js';
import type { Relay, RelayOptions } from './tcp-relay.js';

export interface TcpSessionDeps {
  readonly pickOutbound: (flow: Flow) => Outbound;
  /**
   * Turns the destination the kernel recovered into the one to ask the upstream for (e.g. a fake-IP
   * address into its domain name); undefined refuses the flow. Absent: the destination as is.
   */
  readonly mapDestination?: (dst: SocksAddr) => SocksAddr | undefined;
  /**
   * Learns a name from the client's first bytes (TLS SNI, HTTP Host) for flows still headed to an
   * IP; the bytes stay in the socket. Absent: no sniffing.
   */
  readonly sniff?: (client: Socket) => Promise<string | undefined>;
  /**
   * Optimistic data: takes the client's first bytes out of its socket (bounded wait, so a
   * server-first protocol is delayed at most that much) for outbounds that send them in the
   * handshake's write. Absent: off.
   */
  readonly takeFirstBytes?: (client: Socket) => Promise<Buffer | undefined>;
  readonly idleMs: number;
  /** The byte pump: relayTcp (copy) or relayTcpSpliced (kernel). */
  readonly relay: (client: Socket, upstream: Socket, opts: RelayOptions) => Relay;
  readonly sessions: Sessions;
  readonly log: Logger;
  /** Metrics and the status table; absent: nobody watches. */
  readonly observer?: FlowObserver;
}

function flowFields(flow: Flow, outbound: Outbound, target: SocksAddr | undefined) {
  const fields = { flowId: flow.id, inbound: flow.inbound, src: formatAddr(flow.src), dst: formatAddr(flow.dst), outbound: outbound.name };
  return target && target !== flow.dst ? { ...fields, target: formatAddr(target) } : fields;
}

/**
 * Carries one intercepted TCP connection: dial through the chosen outbound, then relay. A failure
 * is logged once, here, and the client is reset so the application sees it.
 */
export async function runTcpSession(flow: Flow, client: Socket, deps: TcpSessionDeps): Promise<void> {
  const startedAt = Date.now();
  const outbound = deps.pickOutbound(flow);
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  client.once('close', onClientGone);
  deps.sessions.add(flow.id, () => abort.abort());

  const mapped = deps.mapDestination ? deps.mapDestination(flow.dst) : flow.dst;
  const sniffed = mapped && mapped.kind !== 'domain' && deps.sniff ? await deps.sniff(client) : undefined;
  const target = sniffed === undefined || mapped === undefined ? mapped : { kind: 'domain' as const, host: sniffed, port: mapped.port };
  // Not awaited here: the outbound awaits it once connected, so the wait overlaps the TCP connect.
  const earlyData = target !== undefined && deps.takeFirstBytes && outbound.takesEarlyData?.() ? deps.takeFirstBytes(client) : undefined;
  deps.observer?.opened(flow, outbound.name, target);
  let upstream: Socket;
  try {
    if (target === undefined) throw new SgError(ErrorCode.NO_MAPPING, `${formatAddr(flow.dst)} is a fake-IP address with no name mapped to it`);
    upstream = await outbound.dial(target, { flowId: flow.id, signal: abort.signal, earlyData });
  } catch (err) {
    deps.sessions.remove(flow.id);
    deps.observer?.closed(flow, outbound.name, { outcome: 'failed', reason: errorCode(err), bytesUp: 0, bytesDown: 0 });
    deps.log.warn({ ...flowFields(flow, outbound, target), reason: errorCode(err), ms: Date.now() - startedAt }, `flow failed: ${errorMessage(err)}`);
    if (!client.destroyed) client.resetAndDestroy();
    return;
  } finally {
    client.off('close', onClientGone);
  }

  const sentEarly = (await earlyData)?.length;
  const relay = deps.relay(client, upstream, { idleMs: deps.idleMs, sentUp: sentEarly });
  deps.sessions.add(flow.id, relay.stop);
  // Returned, not awaited: this frame (the sockets, the AbortController, the early bytes) is freed
  // while the relay runs; a spliced flow then keeps only what finishRelay holds.
  return finishRelay(flow, outbound, target, relay.done, deps, startedAt, sentEarly);
}

async function finishRelay(
  flow: Flow,
  outbound: Outbound,
  target: SocksAddr | undefined,
  done: Relay['done'],
  deps: TcpSessionDeps,
  startedAt: number,
  earlyBytes: number | undefined,
): Promise<void> {
  const result = await done;
  deps.sessions.remove(flow.id);
  deps.observer?.closed(flow, outbound.name, { outcome: result.outcome, reason: result.reason, bytesUp: result.bytesUp, bytesDown: result.bytesDown });
  const warn = result.outcome === 'reset' && result.reason && result.reason !== ErrorCode.CLIENT_RESET;
  if (!warn && !deps.log.isLevelEnabled('debug')) return; // the usual end: nothing to format
  const summary = { ...flowFields(flow, outbound, target), outcome: result.outcome, up: result.bytesUp, down: result.bytesDown, ms: Date.now() - startedAt, earlyBytes };
  if (warn) {
    deps.log.warn({ ...summary, reason: result.reason }, `flow reset: ${result.detail ?? result.reason}`);
  } else {
    deps.log.debug({ ...summary, reason: result.reason }, 'flow finished');
  }
}
