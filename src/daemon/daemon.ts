import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../core/log.js';
import type { FlowObserver } from '../adapter/flow-observer.js';
import { createUdpCounters } from '../adapter/udp-counters.js';
import { dnsListenOf } from '../firewall/from-config.js';
import { FakeIpFlowHolds } from '../dns/fake-ip-flows.js';
import { LoopGuard } from '../inbound/loop-guard.js';
import { quietSince, releaseMemoryAfterBursts } from '../relay/memory-after-bursts.js';
import { Sessions } from '../relay/sessions.js';
import { relayTcpSpliced } from '../relay/splice-relay.js';
import { relayTcp } from '../relay/tcp-relay.js';
import { sniffClientHost, takeClientFirstBytes } from '../relay/sniff-client.js';
import { systemResolve, type DirectResolve } from '../outbound/direct.js';
import { routedOutbound, viaOutbound } from '../route/routed-outbound.js';
import { FlowRouter } from '../route/router.js';
import { startDnsService } from './dns.js';
import type { DaemonRules } from './rules.js';
import { startUdpService } from './udp.js';
import { TcpListeners } from './listeners.js';
import { localAddressCheck } from './local-addresses.js';
import { guardedListeners } from './guarded-listeners.js';
import { SocksListeners } from './socks-listeners.js';
import type { Observation } from './observation.js';
import { createRouting, type DaemonState } from './reload.js';

export interface Daemon {
  readonly state: DaemonState;
  /** Stops accepting, drains live flows for up to `timeouts.drain_ms`, then cuts the rest. */
  stop(): Promise<void>;
}

/**
 * Builds and starts everything the config asks for: outbounds, the router, DNS, TCP and UDP
 * listeners (which hand their flows to the router), observation.
 */
export async function startDaemon(config: Config, log: Logger, rules: DaemonRules, observe: Observation): Promise<Daemon> {
  const udpCounters = createUdpCounters();
  // Direct flows resolve names through split DNS, which needs the router to exist first: bound below.
  let resolveName: DirectResolve = systemResolve;
  const directResolve: DirectResolve = (host) => resolveName(host);
  const { registry, route } = createRouting(config, { udpCounters, log, onHandshake: observe.handshake, directResolve });
  const sessions = new Sessions();
  const tcp = {
    mapDestination: undefined as ((dst: SocksAddr) => SocksAddr | undefined) | undefined,
    sniff: config.sniff.enabled ? (client: Socket) => sniffClientHost(client, config.sniff.timeout_ms) : undefined,
    takeFirstBytes: config.optimistic_data.enabled ? (client: Socket) => takeClientFirstBytes(client, config.optimistic_data.wait_ms) : undefined,
    idleMs: config.timeouts.idle_s * 1000,
    relay: config.relay === 'splice' ? relayTcpSpliced : relayTcp,
    native: config.relay === 'splice',
    sessions,
    log,
    observer: observe.flows as FlowObserver,
    udpCounters,
    nameOf: undefined as ((dst: SocksAddr) => string | undefined) | undefined,
    answeredName: undefined as ((src: SocksAddr, dst: SocksAddr) => string | undefined) | undefined,
    decisions: observe.decisions,
  };
  const router = new FlowRouter(registry, route, tcp);
  const dnsOutbound = (resolver: SocksAddr, via: string | undefined) => (via === undefined ? routedOutbound(router, 'dns', resolver) : viaOutbound(router, via));
  const dns = await startDnsService(config.dns, { rules: config.rules, outboundFor: dnsOutbound, log: log.child({ component: 'dns' }), onAttempt: observe.dnsAttempt, isLocal: localAddressCheck() });
  if (dns.directResolve) resolveName = dns.directResolve;
  const answered = dns.answered;
  if (answered) tcp.answeredName = (src, dst) => answered.nameFor(src.host, dst.host);
  const fakeIp = dns.fakeIp;
  if (fakeIp) {
    tcp.mapDestination = (dst) => fakeIp.mapDestination(dst);
    tcp.observer = new FakeIpFlowHolds(fakeIp, observe.flows);
    tcp.nameOf = (dst) => (dst.kind === 'domain' ? dst.host : fakeIp.nameOf(dst.host)?.name);
  }
  const guard = new LoopGuard(guardedListeners(config), registry.upstreams.map((o) => o.server));
  const listeners = new TcpListeners({ guard, router, log, reusePort: config.workers > 1 });
  listeners.update(config);
  const socks = new SocksListeners({ guard, router, log, handshakeMs: config.timeouts.handshake_ms, reusePort: config.workers > 1 }, { router, guard, flows: tcp, fakeIp });
  try {
    socks.update(config);
  } catch (err) {
    listeners.close();
    throw err;
  }
  const startUdp = (next: Config) => startUdpService(next, { router, guard, counters: udpCounters, log, fakeIp });
  const state: DaemonState = { config, router, udpCounters, listeners, socks, guard, session: tcp, udp: startUdp(config), startUdp, rules, observe, log, directResolve };
  for (const outbound of registry.upstreams) outbound.start();
  for (const group of registry.groups) group.start();
  // UDP counts include the addon's forwarded datagrams once a sweep has collected them (each second at most)
  const activity = () => sessions.added + udpCounters.datagramsIn + udpCounters.datagramsOut + udpCounters.repliesIn;
  const memory = releaseMemoryAfterBursts(sessions, undefined, quietSince(activity));
  const endpoints = () => ({ redirect: state.config.redirect, tproxy: state.config.tproxy, dns: dnsListenOf(state.config), mark: state.config.mark, upstreams: state.config.upstreams.map((u) => u.server) });
  // The proxy inbound's UDP ASSOCIATE counts in the same counters: they are shown with or without TPROXY.
  const udpView = () => {
    const service = state.udp;
    if (!service && state.config.inbounds.socks.length === 0) return undefined;
    const sizes = () => {
      const own = service?.sizes() ?? { associations: 0, replySockets: 0 };
      return { ...own, associations: own.associations + socks.udpAssociations };
    };
    service?.sync(); // what the addon forwarded on its own since the last read
    return { counters: udpCounters, sizes };
  };
  await observe.serve({ registry: () => router.registry, udp: udpView, dns: () => dns.resolver, endpoints });

  const stop = async () => {
    memory.stop();
    listeners.close();
    socks.close();
    observe.close();
    await dns.stop();
    state.udp?.stop();
    const { drain_ms } = state.config.timeouts;
    log.info({ flows: sessions.size, deadlineMs: drain_ms }, 'stopping: no new connections, draining flows');
    const cut = await sessions.drain(drain_ms);
    log.info({ cut }, 'stopped');
  };
  return { stop, state };
}
