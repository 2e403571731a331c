import type { DnsConfig } from '../config/schema.js';
import type { DnsService, DnsServiceDeps } from './dns-start.js';

/**
 * The DNS server, its resolver and the fake-IP pools, as configured; nothing when neither is on.
 * `outboundFor` gives what carries the queries to one resolver. The DNS modules are loaded only
 * when one of them is on.
 */
export async function startDnsService(config: DnsConfig, deps: DnsServiceDeps): Promise<DnsService> {
  if (!config.fake_ip.enabled && config.listen === undefined) return { fakeIp: undefined, resolver: undefined, directResolve: undefined, answered: undefined, stop: async () => {} };
  const { startDns } = await import('./dns-start.js');
  return startDns(config, deps);
}
