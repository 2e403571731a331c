import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';
import type { Flow } from '../core/flow.js';
import type { Logger } from '../core/log.js';
import { LoopGuard } from '../inbound/loop-guard.js';
import type { TcpInboundDeps } from '../inbound/tcp-inbound.js';
import { releaseMemoryAfterBursts } from '../relay/memory-after-bursts.js';
import { Sessions } from '../relay/sessions.js';
import { relayTcpSpliced } from '../relay/splice-relay.js';
import { relayTcp } from '../relay/tcp-relay.js';
import { runTcpSession } from '../relay/tcp-session.js';
import { sniffClientHost, takeClientFirstBytes } from '../relay/sniff-client.js';
import { dnsUdpDialer, startDnsService } from './dns.js';
import type { DaemonRules } from './rules.js';
import { startUdpService } from './udp.js';
import { LiveOutbounds } from './live-outbounds.js';
import { TcpListeners } from './listeners.js';
import type { Observation } from './observation.js';
import { createOutbounds, type DaemonState } from './reload.js';

export interface Daemon {
  readonly state: DaemonState;
  /** Stops accepting, drains live flows for up to `timeouts.drain_ms`, then cuts the rest. */
  stop(): Promise<void>;
}

/** Builds and starts everything the config asks for: outbounds, DNS, TCP and UDP listeners, observation. */
export async function startDaemon(config: Config, log: Logger, rules: DaemonRules, observe: Observation): Promise<Daemon> {
  const outbounds = new LiveOutbounds(createOutbounds(config, observe, log));
  const sessions = new Sessions();
  // DNS goes through the first upstream, like every flow until rule-based routing lands.
  const dnsLog = log.child({ component: 'dns' });
  const dns = await startDnsService(config.dns, outbounds.first, dnsLog, observe.dnsAttempt, () => dnsUdpDialer(config, dnsLog));
  const fakeIp = dns.fakeIp;
  const session = {
    pickOutbound: (flow: Flow) => outbounds.pick(flow),
    mapDestination: fakeIp && ((dst: SocksAddr) => fakeIp.mapDestination(dst)),
    sniff: config.sniff.enabled ? (client: Socket) => sniffClientHost(client, config.sniff.timeout_ms) : undefined,
    takeFirstBytes: config.optimistic_data.enabled ? (client: Socket) => takeClientFirstBytes(client, config.optimistic_data.wait_ms) : undefined,
    idleMs: config.timeouts.idle_s * 1000,
    relay: config.relay === 'splice' ? relayTcpSpliced : relayTcp,
    native: config.relay === 'splice',
    sessions,
    log,
    observer: observe.flows,
  };
  const deps: TcpInboundDeps = {
    guard: new LoopGuard([...config.redirect, ...config.tproxy], outbounds.all.map((o) => o.server)),
    log,
    onFlow: (flow, client) => void runTcpSession(flow, client, session),
  };
  const listeners = new TcpListeners({ ...deps, reusePort: config.workers > 1 });
  listeners.update(config);
  const startUdp = (next: Config) => startUdpService(next, deps.guard, log, session.mapDestination);
  const state: DaemonState = { config, outbounds, listeners, guard: deps.guard, session, udp: startUdp(config), startUdp, rules, observe, log };
  for (const outbound of outbounds.all) outbound.start();
  const memory = releaseMemoryAfterBursts(sessions);
  await observe.serve({ outbounds: () => outbounds.all, udp: () => state.udp, dns: () => dns.resolver });

  const stop = async () => {
    memory.stop();
    listeners.close();
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
