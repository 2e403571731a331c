import type { Config } from '../config/load.js';
import type { DnsConfig } from '../config/schema.js';
import type { ResolverOptions } from '../dns/resolver.js';
import type { Logger } from '../core/log.js';
import { openUdpSocket } from '../native/index.js';
import type { Outbound } from '../adapter/outbound.js';
import { NoUdpDialer, Socks5UdpDialer } from '../outbound/socks5-udp.js';
import type { UdpDialer } from '../adapter/udp.js';
import type { DnsService } from './dns-start.js';
import { createUdpCounters } from '../adapter/udp-counters.js';

/** UDP ASSOCIATE through the first upstream, for udp:// resolvers (an upstream without UDP fails them). */
export function dnsUdpDialer(config: Config, log: Logger): UdpDialer {
  const [upstream] = config.upstreams;
  if (upstream.protocol !== 'socks5') return new NoUdpDialer(upstream.name, log);
  const { mark } = config;
  const settings = {
    mark,
    connectTimeoutMs: config.timeouts.connect_ms,
    handshakeTimeoutMs: config.timeouts.handshake_ms,
    sendSource: false,
    retryNoUdpMs: 30_000,
    openSocket: (family: 'ipv4' | 'ipv6') => openUdpSocket(family === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 }, { mark }),
  };
  return new Socks5UdpDialer(upstream, settings, createUdpCounters(), log);
}

/**
 * The DNS server, its resolver and the fake-IP pools, as configured; nothing when neither is on.
 * `udpDialer` carries udp:// resolvers (opened only when one is configured). The DNS modules are
 * loaded only when one of them is on.
 */
export async function startDnsService(
  config: DnsConfig,
  outbound: Outbound,
  log: Logger,
  onAttempt?: ResolverOptions['onAttempt'],
  udpDialer?: () => UdpDialer,
): Promise<DnsService> {
  if (!config.fake_ip.enabled && config.listen === undefined) return { fakeIp: undefined, resolver: undefined, stop: async () => {} };
  const { startDns } = await import('./dns-start.js');
  return startDns(config, outbound, log, onAttempt, udpDialer);
}
