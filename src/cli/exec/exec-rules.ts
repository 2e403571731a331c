import type { RulesConfig } from '../../config/schema.js';
import { planRules, type CgroupScope, type FirewallPlan } from '../../firewall/plan.js';
import { OWNED_SUFFIXES } from '../../firewall/render-iptables.js';
import type { OwnedNames } from '../../firewall/transaction.js';
import type { ExecTarget } from './target.js';

/**
 * The rules of one `socksgate exec`: the daemon's own diversion (REDIRECT to its loopback listener,
 * DNS capture) scoped to the command's cgroup, in a table and chains of its own, so several execs
 * and the daemon's `--rules auto` set never touch each other's rules. No UDP: TPROXY needs a
 * policy-routing rule, which is shared per mark and could not be removed by one exec alone.
 */
export function execPlan(rules: RulesConfig, target: ExecTarget, cgroup: CgroupScope, id: number): FirewallPlan {
  return planRules({
    mark: target.mark,
    redirect: target.redirect,
    tproxy: [],
    upstreams: target.upstreams.map((server) => ({ server })),
    rules: { ...rules, ...execNames(id), mode: 'sidecar', udp: false, lan_interfaces: [], lan_sources: [] },
    cgroup,
    ...(target.dns ? { dnsListen: target.dns } : {}),
  });
}

/** Names owned by exec `id` (its pid): unique while it runs, and never a prefix of another's. */
function execNames(id: number): { nft_table: string; iptables_chain: string } {
  return { nft_table: `${TABLE_PREFIX}${id}`, iptables_chain: `${CHAIN_PREFIX}${id.toString(36).toUpperCase()}` };
}

const TABLE_PREFIX = 'socksgate_exec_';
const CHAIN_PREFIX = 'SGX';

/** What flush needs. exec changes no routing, so the routing names are never used (see exec-rules-install). */
export function execOwnedNames(id: number): OwnedNames {
  const names = execNames(id);
  return { nftTable: names.nft_table, chain: names.iptables_chain, fwmark: 0, routeTable: 0 };
}

/** Ids of the exec rule sets in `nft list tables` and iptables-save output (exactly exec's names, never look-alikes). */
export function execIdsIn(nftTables: string, saved: string): Set<number> {
  const ids = new Set<number>();
  for (const m of nftTables.matchAll(new RegExp(`^table inet ${TABLE_PREFIX}(\\d+)$`, 'gm'))) ids.add(Number(m[1]));
  for (const m of saved.matchAll(new RegExp(`^:${CHAIN_PREFIX}([0-9A-Z]+)_(?:${OWNED_SUFFIXES.join('|')}) `, 'gm'))) ids.add(parseInt(m[1], 36));
  return ids;
}
