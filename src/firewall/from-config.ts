import { addrOf, parseHostPort, type SocksAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';
import { kernelDirectOf } from './kernel-direct.js';
import { planRules, type FirewallPlan } from './plan.js';
import type { OwnedNames } from './transaction.js';

/**
 * The DNS listener, when the config has one. The `dns:` section belongs to the DNS engine; the
 * rules only need its listen address, as "host:port", a parsed address, or a list of either.
 */
export function dnsListenOf(config: object): SocksAddr | undefined {
  const dns = (config as { dns?: { listen?: unknown } }).dns;
  const listen = Array.isArray(dns?.listen) ? dns.listen[0] : dns?.listen;
  if (typeof listen === 'string') return parseHostPort(listen);
  if (listen && typeof listen === 'object') {
    const { host, port } = listen as { host?: unknown; port?: unknown };
    if (typeof host === 'string' && typeof port === 'number') return addrOf(host, port);
  }
  return undefined;
}

export function planFromConfig(config: Config): FirewallPlan {
  const dnsListen = dnsListenOf(config);
  return planRules({ mark: config.mark, redirect: config.redirect, tproxy: config.tproxy, upstreams: config.upstreams, rules: config.rules, direct: kernelDirectOf(config), ...(dnsListen ? { dnsListen } : {}) });
}

export function ownedNames(config: Config): OwnedNames {
  const { nft_table, iptables_chain, fwmark, route_table } = config.rules;
  return { nftTable: nft_table, chain: iptables_chain, fwmark, routeTable: route_table };
}
