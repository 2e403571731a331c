import type { Config } from '../config/load.js';
import type { UpstreamConfig } from '../config/upstream.js';
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
import { chainsInDependencyOrder } from '../config/chain.js';

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
      return new Socks5Outbound(upstream, settings, log, new Socks5UdpDialer(upstream, settings, settings.udpCounters, log));
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
 * Every upstream of `config` as an outbound, in config order, then every chain (each after the
 * chains it uses as hops), each watched for health; built once per config.
 */
export function buildOutbounds(config: Config, deps: RegistryDeps): readonly WatchedOutbound[] {
  const settings = outboundSettings(config, deps.udpCounters);
  const watch = (outbound: Outbound) => new WatchedOutbound(outbound, deps.onHandshake);
  const outbounds = config.upstreams.map((upstream) => watch(createOutbound(upstream, settings, deps.log.child({ upstream: upstream.name }))));
  const byName = new Map(outbounds.map((o) => [o.name, o]));
  for (const chain of chainsInDependencyOrder(config.chains)) {
    const hops = chain.hops.map((hop) => byName.get(hop)!);
    const outbound = watch(createChain(chain.name, hops, settings, deps.log.child({ upstream: chain.name })));
    byName.set(chain.name, outbound);
    outbounds.push(outbound);
  }
  return outbounds;
}
