import type { IpFamily } from '../core/cidr.js';
import { builtinMarker, HOOKED_BUILTINS, isOwnedChain, ownedBy, tableMarker } from './render-iptables.js';

/**
 * iptables-nft creates a table, and each built-in chain, on first use and has no command to
 * delete them, so after a flush an empty `table ip mangle` or `chain PREROUTING` would stay
 * behind. When our markers say apply created them, and flush's look (iptables-save, just before)
 * finds nothing in them but ours, flush deletes them with nft.
 */

const NFT_FAMILY: Record<IpFamily, string> = { ipv4: 'ip', ipv6: 'ip6' };

interface TableContent {
  /** Chains that are not ours, as "NAME POLICY". */
  chains: string[];
  /** Rules that are not ours, per chain. */
  rules: Map<string, number>;
}

/** What is not ours, per table. */
function othersContent(prefix: string, saved: string): Map<string, TableContent> {
  const ours = (chain: string) => isOwnedChain(prefix, chain);
  const out = new Map<string, TableContent>();
  let current: TableContent | undefined;
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) out.set(line.slice(1).trim(), (current = { chains: [], rules: new Map() }));
    if (!current) continue;
    const chain = /^:(\S+) (\S+)/.exec(line);
    if (chain && !ours(chain[1])) current.chains.push(`${chain[1]} ${chain[2]}`);
    const rule = /^-A (\S+)(?: .*-[jg] (\S+))?/.exec(line);
    if (rule && !ours(rule[1]) && !(rule[2] && ours(rule[2]))) current.rules.set(rule[1], (current.rules.get(rule[1]) ?? 0) + 1);
  }
  return out;
}

/** nft input deleting the tables and built-in chains we created in `family`, once our chains are gone ('' when none). */
export function renderCreatedTablesRemoval(prefix: string, family: IpFamily, saved: string): string {
  const content = othersContent(prefix, saved);
  let text = '';
  for (const [table, { chains }] of ownedBy(prefix, saved)) {
    const left = content.get(table);
    if (!left) continue;
    // Only untouched built-in chains may remain (user chains and DROP policies belong to someone).
    const untouched = left.rules.size === 0 && left.chains.every((chain) => /^[A-Z]+ ACCEPT$/.test(chain));
    if (chains.includes(tableMarker(prefix)) && untouched) {
      text += `delete table ${NFT_FAMILY[family]} ${table}\n`;
      continue;
    }
    for (const builtin of HOOKED_BUILTINS) {
      if (!chains.includes(builtinMarker(prefix, builtin)) || left.rules.has(builtin) || !left.chains.includes(`${builtin} ACCEPT`)) continue;
      text += `delete chain ${NFT_FAMILY[family]} ${table} ${builtin}\n`;
    }
  }
  return text;
}
