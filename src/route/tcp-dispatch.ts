import type { Socket } from 'node:net';
import { addrOf, formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { Flow } from '../core/flow.js';
import type { ClientConn, DialAnswer } from '../adapter/client-conn.js';
import type { DialPlan } from '../adapter/handshake.js';
import type { Outbound } from '../adapter/outbound.js';
import type { Decision } from '../adapter/router.js';
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

/** The router's choice for a flow, given the name it is known to be for (if any). */
export type DecideTcp = (flow: Flow, host: string | undefined) => Decision;

/**
 * Carries one TCP flow: maps a fake-IP destination to its name, sniffs one from the client's first
 * bytes (when sniffing is on), asks the router, then dials through the chosen outbound and relays. A flow that Node
 * need not read (no sniffing, no optimistic data, a spliced relay, an outbound that plans, a client
 * answered with bytes if any) runs in the addon from accept to close; the others on Node sockets. Never rejects:
 * whatever fails resets the client (or answers it, see DialAnswer) and is reported once.
 */
export async function dispatchTcp(flow: Flow, client: ClientConn, decide: DecideTcp, deps: TcpDispatchDeps): Promise<void> {
  const startedAt = Date.now();
  const { answer } = client;
  const mapped = deps.mapDestination ? deps.mapDestination(flow.dst) : flow.dst;
  // A client waiting for its reply sends nothing yet: there is nothing to sniff or take early.
  if (deps.sniff !== undefined && !answer && mapped !== undefined && mapped.kind !== 'domain') return runSocketSession(flow, mapped, startedAt, client.socket(), decide, deps);
  const decision = decide(flow, mapped?.kind === 'domain' ? mapped.host : undefined);
  const { outbound } = decision;
  const f: FlowInFlight = { flow, outbound: outbound.name, rule: decision.rule, target: mapped, startedAt };
  // A proxy client is answered by the addon too, unless its request was rewritten in its Node socket.
  const needsNode = (answer !== undefined && answer.successReply === undefined) || (deps.takeFirstBytes !== undefined && outbound.takesEarlyData?.() === true);
  const native = deps.native && mapped !== undefined && !needsNode;
  if (native && mapped.kind === 'domain' && outbound.resolveAddress) return planResolved(f, client, mapped, outbound, deps);
  let plan: DialPlan | undefined;
  try {
    plan = native ? outbound.plan?.(mapped) : undefined;
  } catch (err) {
    // A destination the outbound cannot carry (IPv6 over SOCKS4, a reject rule): refused before any dial, as dial would be.
    return refuse(f, client, err, deps);
  }
  if (plan) return runNativeSession(f, client, plan, deps);
  return dialAndRelay(f, client.socket(), outbound, deps, answer);
}

/** A flow that fails before any dial: reported once, and the client answered or reset. */
function refuse(f: FlowInFlight, client: ClientConn, err: unknown, deps: TcpDispatchDeps): void {
  deps.observer?.opened(f);
  reportDialFailure(f, err, deps);
  if (client.answer) client.answer.failed(err);
  else client.reset();
}

/**
 * A name for an outbound that resolves names itself (direct): resolved as its dial would, then the
 * plan to the address runs in the addon like any other. A name that does not resolve fails as the
 * dial's would (the same error, so the same reply); a stop meanwhile answers the client as a stop mid-dial does.
 */
async function planResolved(f: FlowInFlight, client: ClientConn, name: SocksAddr, outbound: Outbound, deps: TcpDispatchDeps): Promise<void> {
  let stopped = false;
  deps.sessions.add(f.flow.id, () => {
    stopped = true;
    refuse(f, client, new SgError(ErrorCode.SHUTDOWN, 'daemon stopping'), deps);
  });
  let plan: DialPlan | undefined;
  try {
    const address = await outbound.resolveAddress!(name);
    if (stopped) return;
    plan = outbound.plan?.(address);
  } catch (err) {
    if (!stopped) refuse(f, client, err, deps);
    return;
  }
  if (plan) return runNativeSession(f, client, plan, deps);
  return dialAndRelay(f, client.socket(), outbound, deps, client.answer);
}

/** Sniffs the client's first bytes for a name (TLS SNI, HTTP Host), then decides and dials. */
async function runSocketSession(flow: Flow, mapped: SocksAddr, startedAt: number, client: Socket, decide: DecideTcp, deps: TcpDispatchDeps): Promise<void> {
  deps.sessions.add(flow.id, () => client.destroy());
  // Bounded by the sniff timeout: a server-speaks-first flow is decided on its address after it.
  const sniffed = await deps.sniff!(client);
  const decision = decide(flow, sniffed);
  const { outbound } = decision;
  // A name goes upstream, so the proxy resolves it; an outbound that dials itself keeps the address the client chose.
  const target = sniffed === undefined || outbound.dialsAddressItself ? mapped : { kind: 'domain' as const, host: sniffed, port: mapped.port };
  return dialAndRelay({ flow, outbound: outbound.name, rule: decision.rule, target, startedAt }, client, outbound, deps);
}

/** The upstream connection's local address (the bound address a SOCKS reply names), where Node knows it. */
function localAddressOf(upstream: Socket): SocksAddr | undefined {
  const { localAddress, localPort } = upstream;
  return localAddress !== undefined && localPort !== undefined ? addrOf(localAddress, localPort) : undefined;
}

async function dialAndRelay(f: FlowInFlight, client: Socket, outbound: Outbound, deps: TcpDispatchDeps, answer?: DialAnswer): Promise<void> {
  const { flow, target } = f;
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  client.once('close', onClientGone);
  deps.sessions.add(flow.id, () => abort.abort());
  if (client.destroyed) abort.abort();

  // Not awaited here: the outbound awaits it once connected, so the wait overlaps the TCP connect.
  const earlyData = target !== undefined && !answer && deps.takeFirstBytes && outbound.takesEarlyData?.() ? deps.takeFirstBytes(client) : undefined;
  deps.observer?.opened(f);
  // What the outbound wants run when the flow is over (a group counting its members' live flows).
  let onEnd: (() => void)[] | undefined;
  const whenEnded = (fn: () => void) => void (onEnd ??= []).push(fn);
  const ended = () => onEnd?.forEach((fn) => fn());
  let upstream: Socket;
  try {
    if (target === undefined) throw new SgError(ErrorCode.NO_MAPPING, `${formatAddr(flow.dst)} is a fake-IP address with no name mapped to it`);
    upstream = await outbound.dial(target, { flowId: flow.id, signal: abort.signal, earlyData, whenEnded });
  } catch (err) {
    reportDialFailure(f, err, deps);
    if (answer) answer.failed(err);
    else if (!client.destroyed) client.resetAndDestroy();
    return;
  } finally {
    client.off('close', onClientGone);
  }
  // Only now, with the outcome known, does a proxy client get its reply; its next bytes are the relay's.
  if (answer && !client.destroyed && !upstream.destroyed) await answer.connected(localAddressOf(upstream)).catch(() => client.destroy());

  const sentEarly = (await earlyData)?.length;
  // The client may have left (or the upstream dropped) just as the dial finished: nothing is left to
  // relay, and a closed socket has no descriptor for the kernel relay to take.
  if (client.destroyed || upstream.destroyed) {
    for (const side of [client, upstream]) if (!side.destroyed) side.resetAndDestroy();
    const reason = client.destroyed ? ErrorCode.CLIENT_RESET : ErrorCode.UPSTREAM_RESET;
    ended();
    return relayEnded(f, { outcome: 'reset', reason, detail: 'closed before the relay started', bytesUp: sentEarly ?? 0, bytesDown: 0 }, deps, sentEarly);
  }
  let relay: Relay;
  try {
    relay = deps.relay(client, upstream, { idleMs: deps.idleMs, sentUp: sentEarly });
  } catch (err) {
    // EMFILE for the splice relay's dup or pipe: this flow fails, the daemon carries on.
    upstream.destroy();
    if (!client.destroyed) client.resetAndDestroy();
    ended();
    reportDialFailure(f, err, deps);
    return;
  }
  deps.sessions.add(flow.id, relay.stop);
  // Returned, not awaited: this frame (the sockets, the AbortController, the early bytes) is freed
  // while the relay runs.
  return relay.done.then((result) => {
    ended();
    relayEnded(f, result, deps, sentEarly);
  });
}
