import type { IpFamily } from '../core/cidr.js';
import { ownedBy, tableMarker } from './render-iptables.js';

/**
 * iptables-nft creates a table (and its base chains) on first use and has no command to delete
 * it, so after a flush an empty `table ip mangle` would stay behind. When our marker says apply
 * created the table, and flush's look at it (iptables-save, just before) found nothing but our
 * chains and untouched built-in chains, flush deletes the table with nft.
 */

const NFT_FAMILY: Record<IpFamily, string> = { ipv4: 'ip', ipv6: 'ip6' };

interface TableContent {
  chains: string[];
  rules: number;
}

/** Chains and the number of rules that are not ours, per table. */
function othersContent(prefix: string, saved: string): Map<string, TableContent> {
  const ours = (chain: string) => chain.startsWith(`${prefix}_`);
  const out = new Map<string, TableContent>();
  let current: TableContent | undefined;
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) out.set(line.slice(1).trim(), (current = { chains: [], rules: 0 }));
    if (!current) continue;
    const chain = /^:(\S+) (\S+)/.exec(line);
    if (chain && !ours(chain[1])) current.chains.push(`${chain[1]} ${chain[2]}`);
    const rule = /^-A (\S+)(?: .*-[jg] (\S+))?/.exec(line);
    if (rule && !ours(rule[1]) && !(rule[2] && ours(rule[2]))) current.rules++;
  }
  return out;
}

/** nft input deleting the tables we created in `family`, once our chains are gone ('' when none). */
export function renderCreatedTablesRemoval(prefix: string, family: IpFamily, saved: string): string {
  const content = othersContent(prefix, saved);
  let text = '';
  for (const [table, { chains }] of ownedBy(prefix, saved)) {
    const left = content.get(table);
    if (!chains.includes(tableMarker(prefix)) || !left || left.rules > 0) continue;
    // Only untouched built-in chains may remain (user chains and DROP policies belong to someone).
    if (!left.chains.every((chain) => /^[A-Z]+ ACCEPT$/.test(chain))) continue;
    text += `delete table ${NFT_FAMILY[family]} ${table}\n`;
  }
  return text;
}
