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
  const fields = flowFields(flow, outbound, target);
  deps.observer?.opened(flow, outbound.name, target);
  let upstream: Socket;
  try {
    if (target === undefined) throw new SgError(ErrorCode.NO_MAPPING, `${formatAddr(flow.dst)} is a fake-IP address with no name mapped to it`);
    upstream = await outbound.dial(target, { flowId: flow.id, signal: abort.signal });
  } catch (err) {
    deps.sessions.remove(flow.id);
    deps.observer?.closed(flow, outbound.name, { outcome: 'failed', reason: errorCode(err), bytesUp: 0, bytesDown: 0 });
    deps.log.warn({ ...fields, reason: errorCode(err), ms: Date.now() - startedAt }, `flow failed: ${errorMessage(err)}`);
    if (!client.destroyed) client.resetAndDestroy();
    return;
  } finally {
    client.off('close', onClientGone);
  }

  const relay = deps.relay(client, upstream, { idleMs: deps.idleMs });
  deps.sessions.add(flow.id, relay.stop);
  const result = await relay.done;
  deps.sessions.remove(flow.id);
  deps.observer?.closed(flow, outbound.name, { outcome: result.outcome, reason: result.reason, bytesUp: result.bytesUp, bytesDown: result.bytesDown });
  const summary = { ...fields, outcome: result.outcome, up: result.bytesUp, down: result.bytesDown, ms: Date.now() - startedAt };
  if (result.outcome === 'reset' && result.reason && result.reason !== ErrorCode.CLIENT_RESET) {
    deps.log.warn({ ...summary, reason: result.reason }, `flow reset: ${result.detail ?? result.reason}`);
  } else {
    deps.log.debug({ ...summary, reason: result.reason }, 'flow finished');
  }
}
