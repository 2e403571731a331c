import type { DnsConfig, RulesConfig } from '../config/schema.js';
import type { ResolverOptions } from '../dns/resolver.js';
import type { Logger } from '../core/log.js';
import type { DnsOutboundFor, DnsService } from './dns-start.js';

/**
 * The DNS server, its resolver and the fake-IP pools, as configured; nothing when neither is on.
 * `outboundFor` gives what carries the queries to one resolver. The DNS modules are loaded only
 * when one of them is on.
 */
export async function startDnsService(
  config: DnsConfig,
  rules: RulesConfig,
  outboundFor: DnsOutboundFor,
  log: Logger,
  onAttempt?: ResolverOptions['onAttempt'],
): Promise<DnsService> {
  if (!config.fake_ip.enabled && config.listen === undefined) return { fakeIp: undefined, resolver: undefined, directResolve: undefined, stop: async () => {} };
  const { startDns } = await import('./dns-start.js');
  return startDns(config, rules, outboundFor, log, onAttempt);
}
