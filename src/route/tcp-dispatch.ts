import type { Socket } from 'node:net';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { ClientConn } from '../adapter/client-conn.js';
import type { DialPlan } from '../adapter/handshake.js';
import type { Outbound } from '../adapter/outbound.js';
import { relayEnded, reportDialFailure, type FlowInFlight, type FlowReportDeps } from '../relay/flow-report.js';
import { runNativeSession } from './native-flow.js';
import type { Relay, RelayOptions } from '../relay/tcp-relay.js';

export interface TcpDispatchDeps extends FlowReportDeps {
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
  /** The relay splices: a flow that needs nothing from Node is dialed and relayed in the addon. */
  readonly native: boolean;
}

/**
 * Carries one TCP flow through the outbound the router chose: dial, then relay. A flow that Node
 * need not read (no sniffing, no optimistic data, a spliced relay, an upstream given by address)
 * runs in the addon from accept to close; the others on Node sockets. Never rejects: whatever
 * fails resets the client and is reported once.
 */
export async function dispatchTcp(flow: Flow, client: ClientConn, outbound: Outbound, deps: TcpDispatchDeps): Promise<void> {
  const mapped = deps.mapDestination ? deps.mapDestination(flow.dst) : flow.dst;
  const needsNode = (deps.sniff !== undefined && mapped?.kind !== 'domain') || (deps.takeFirstBytes !== undefined && outbound.takesEarlyData?.() === true);
  const f: FlowInFlight = { flow, outbound: outbound.name, target: mapped, startedAt: Date.now() };
  let plan: DialPlan | undefined;
  try {
    plan = deps.native && mapped !== undefined && !needsNode ? outbound.plan?.(mapped) : undefined;
  } catch (err) {
    // A destination the protocol cannot carry (IPv6 over SOCKS4): refused before any dial, as dial would.
    deps.observer?.opened(flow, outbound.name, mapped);
    reportDialFailure(f, err, deps);
    client.reset();
    return;
  }
  if (plan) return runNativeSession(f, client, plan, deps);
  return runSocketSession(f, client.socket(), outbound, deps);
}

async function runSocketSession(f: FlowInFlight, client: Socket, outbound: Outbound, deps: TcpDispatchDeps): Promise<void> {
  const { flow } = f;
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  client.once('close', onClientGone);
  deps.sessions.add(flow.id, () => abort.abort());

  const mapped = f.target;
  const sniffed = mapped && mapped.kind !== 'domain' && deps.sniff ? await deps.sniff(client) : undefined;
  const target = sniffed === undefined || mapped === undefined ? mapped : { kind: 'domain' as const, host: sniffed, port: mapped.port };
  if (target !== mapped) f = { ...f, target };
  // Not awaited here: the outbound awaits it once connected, so the wait overlaps the TCP connect.
  const earlyData = target !== undefined && deps.takeFirstBytes && outbound.takesEarlyData?.() ? deps.takeFirstBytes(client) : undefined;
  deps.observer?.opened(flow, outbound.name, target);
  let upstream: Socket;
  try {
    if (target === undefined) throw new SgError(ErrorCode.NO_MAPPING, `${formatAddr(flow.dst)} is a fake-IP address with no name mapped to it`);
    upstream = await outbound.dial(target, { flowId: flow.id, signal: abort.signal, earlyData });
  } catch (err) {
    reportDialFailure(f, err, deps);
    if (!client.destroyed) client.resetAndDestroy();
    return;
  } finally {
    client.off('close', onClientGone);
  }

  const sentEarly = (await earlyData)?.length;
  let relay: Relay;
  try {
    relay = deps.relay(client, upstream, { idleMs: deps.idleMs, sentUp: sentEarly });
  } catch (err) {
    // EMFILE for the splice relay's dup or pipe: this flow fails, the daemon carries on.
    upstream.destroy();
    if (!client.destroyed) client.resetAndDestroy();
    reportDialFailure(f, err, deps);
    return;
  }
  deps.sessions.add(flow.id, relay.stop);
  // Returned, not awaited: this frame (the sockets, the AbortController, the early bytes) is freed
  // while the relay runs.
  return relay.done.then((result) => relayEnded(f, result, deps, sentEarly));
}
