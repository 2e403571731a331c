import type { Config } from '../config/load.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { GroupConfig } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { Outbound } from '../adapter/outbound.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import { openUdpSocket } from '../native/index.js';
import { httpConnectHandshake } from './http-connect.js';
import { SingleRequestOutbound } from './single-request.js';
import { Socks5Outbound } from './socks5.js';
import { socks4Handshake } from './socks4.js';
import { NoUdpDialer, Socks5UdpDialer } from './socks5-udp.js';
import { WatchedOutbound } from './watched-outbound.js';
import { createChain } from './chain/chain-outbound.js';
import type { OutboundSettings } from './outbound-settings.js';
import { GroupOutbound } from './group-outbound.js';
import { configOutbounds, dependencyOrder, namedEntries } from '../config/outbound-names.js';
import { parseHostPort } from '../core/addr.js';

/** After an upstream refused UDP ASSOCIATE, ask it again only this often. */
const RETRY_NO_UDP_MS = 30_000;

export type { OutboundSettings } from './outbound-settings.js';

/** The settings of `config` that every dialer reads, built in this one place. */
export function outboundSettings(config: Config, udpCounters: UdpCounters): OutboundSettings {
  const { mark } = config;
  return {
    mark,
    connectTimeoutMs: config.timeouts.connect_ms,
    handshakeTimeoutMs: config.timeouts.handshake_ms,
    sendSource: config.udp.send_source,
    retryNoUdpMs: RETRY_NO_UDP_MS,
    openSocket: (family) => openUdpSocket(family === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 }, { mark }),
    udpCounters,
  };
}

/** The outbound of one upstream: its protocol's TCP dialer and UDP associations. */
export function createOutbound(upstream: UpstreamConfig, settings: OutboundSettings, log: Logger): Outbound {
  switch (upstream.protocol) {
    case 'socks5':
      return new Socks5Outbound(upstream, settings, log, (pipelining) => new Socks5UdpDialer(upstream, settings, settings.udpCounters, log, pipelining));
    case 'socks4':
    case 'socks4a':
      return new SingleRequestOutbound(upstream, settings, socks4Handshake(upstream.username ?? '', upstream.protocol === 'socks4a'), new NoUdpDialer(upstream.name, log));
    case 'http': {
      const auth = upstream.username === undefined ? undefined : { username: upstream.username, password: upstream.password ?? '' };
      return new SingleRequestOutbound(upstream, settings, httpConnectHandshake(auth), new NoUdpDialer(upstream.name, log));
    }
  }
}

export interface RegistryDeps {
  readonly udpCounters: UdpCounters;
  readonly log: Logger;
  /** Told each upstream's handshake time (metrics). */
  readonly onHandshake?: (upstream: string, seconds: number) => void;
}

/**
 * Every named outbound of a config, built once per config: upstreams (each watched for health),
 * then chains and groups, each after the outbounds it refers to, so a group's member or a chain's
 * hop may be any named outbound.
 */
export interface OutboundRegistry {
  /** Every named outbound by name, in dependency order (a name's references come before it). */
  readonly byName: ReadonlyMap<string, Outbound>;
  readonly upstreams: readonly WatchedOutbound[];
  /** Watched like upstreams: a chain's handshake time is its whole cascade's. */
  readonly chains: readonly WatchedOutbound[];
  readonly groups: readonly GroupOutbound[];
}

export function buildOutbounds(config: Config, deps: RegistryDeps): OutboundRegistry {
  const settings = outboundSettings(config, deps.udpCounters);
  const upstreams = config.upstreams.map((upstream) => new WatchedOutbound(createOutbound(upstream, settings, deps.log.child({ upstream: upstream.name })), deps.onHandshake));
  return addGroups(config, upstreams, { ...deps, settings });
}

export interface GroupDeps extends RegistryDeps {
  readonly settings: OutboundSettings;
}

/**
 * The registry of `config` over `upstreams` already built (a reload that changed only groups keeps
 * them, and passes the groups it replaces: a member still in a group of the same name keeps its
 * health). Chains are built again: they hold nothing but their hops.
 */
export function addGroups(config: Config, upstreams: readonly WatchedOutbound[], deps: GroupDeps, previous: readonly GroupOutbound[] = []): OutboundRegistry {
  const { log } = deps;
  const byName = new Map<string, Outbound>(upstreams.map((o) => [o.name, o]));
  const groupConfigs = new Map(config.groups.map((g) => [g.name, g]));
  const chainConfigs = new Map(config.chains.map((c) => [c.name, c]));
  const groups: GroupOutbound[] = [];
  const chains: WatchedOutbound[] = [];
  for (const name of dependencyOrder(namedEntries(configOutbounds(config)))) {
    const group = groupConfigs.get(name);
    const chain = chainConfigs.get(name);
    if (group !== undefined) {
      const built = createGroup(group, config, group.members.map((member) => byName.get(member)!), log, previous.find((g) => g.name === name));
      groups.push(built);
      byName.set(name, built);
    } else if (chain !== undefined) {
      const hops = chain.hops.map((hop) => byName.get(hop)!);
      const built = new WatchedOutbound(createChain(chain.name, hops, deps.settings, log.child({ upstream: chain.name })), deps.onHandshake);
      chains.push(built);
      byName.set(name, built);
    }
  }
  return { byName, upstreams, chains, groups };
}

function createGroup(group: GroupConfig, config: Config, members: readonly Outbound[], log: Logger, previous: GroupOutbound | undefined): GroupOutbound {
  const { health } = config;
  const { check } = group;
  const probeIntervalMs = check && check.interval_s * 1000;
  return new GroupOutbound(
    {
      name: group.name,
      policy: group.policy,
      failbackMs: group.failback_s * 1000,
      health: { failAfter: group.fail_after ?? health.fail_after, retryMs: health.retry_ms, maxRetryMs: health.max_retry_s * 1000, probeIntervalMs },
      budgetMs: config.timeouts.connect_ms + config.timeouts.handshake_ms,
      ...(check ? { check: { tcp: parseHostPort(check.tcp), ...(check.udp ? { udp: parseHostPort(check.udp) } : {}), timeoutMs: check.timeout_ms } } : {}),
    },
    members,
    log.child({ group: group.name }),
    previous,
  );
}
