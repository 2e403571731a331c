import type { Socket } from 'node:net';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode, errorMessage } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { Logger } from '../observe/logger.js';
import type { Outbound } from '../outbound/outbound.js';
import type { Sessions } from './sessions.js';
import { relayTcp } from './tcp-relay.js';

export interface TcpSessionDeps {
  readonly pickOutbound: (flow: Flow) => Outbound;
  /**
   * Turns the destination the kernel recovered into the one to ask the upstream for (e.g. a fake-IP
   * address into its domain name); undefined refuses the flow. Absent: the destination as is.
   */
  readonly mapDestination?: (dst: SocksAddr) => SocksAddr | undefined;
  readonly idleMs: number;
  readonly sessions: Sessions;
  readonly log: Logger;
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

  const target = deps.mapDestination ? deps.mapDestination(flow.dst) : flow.dst;
  const fields = flowFields(flow, outbound, target);
  let upstream: Socket;
  try {
    if (target === undefined) throw new SgError(ErrorCode.NO_MAPPING, `${formatAddr(flow.dst)} is a fake-IP address with no name mapped to it`);
    upstream = await outbound.dial(target, { flowId: flow.id, signal: abort.signal });
  } catch (err) {
    deps.sessions.remove(flow.id);
    deps.log.warn({ ...fields, reason: errorCode(err), ms: Date.now() - startedAt }, `flow failed: ${errorMessage(err)}`);
    if (!client.destroyed) client.resetAndDestroy();
    return;
  } finally {
    client.off('close', onClientGone);
  }

  const relay = relayTcp(client, upstream, { idleMs: deps.idleMs });
  deps.sessions.add(flow.id, relay.stop);
  const result = await relay.done;
  deps.sessions.remove(flow.id);
  const summary = { ...fields, outcome: result.outcome, up: result.bytesUp, down: result.bytesDown, ms: Date.now() - startedAt };
  if (result.outcome === 'reset' && result.reason && result.reason !== ErrorCode.CLIENT_RESET) {
    deps.log.warn({ ...summary, reason: result.reason }, `flow reset: ${result.detail ?? result.reason}`);
  } else {
    deps.log.debug({ ...summary, reason: result.reason }, 'flow finished');
  }
}
