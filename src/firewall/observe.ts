import type { IpFamily } from '../core/cidr.js';
import { FirewallError, runTool } from './exec.js';
import { usesPolicyRouting, type FirewallPlan } from './plan.js';
import type { Observed, OwnedNames } from './transaction.js';

const SAVE: Record<IpFamily, string> = { ipv4: 'iptables-save', ipv6: 'ip6tables-save' };
const FLAG: Record<IpFamily, string> = { ipv4: '-4', ipv6: '-6' };
const NFT_FAMILY: Record<IpFamily, string> = { ipv4: 'ip', ipv6: 'ip6' };

function saved(family: IpFamily): string | undefined {
  const r = runTool(SAVE[family], []);
  return r.ok ? r.stdout : undefined;
}

/** `ip -j` output for route table `table`; '[]' when it does not exist yet, undefined when unreadable. */
function routes(table: number, family: IpFamily): string | undefined {
  const r = runTool('ip', [FLAG[family], '-N', '-d', '-j', 'route', 'show', 'table', String(table)]);
  if (r.ok) return r.stdout;
  return /table does not exist/i.test(r.stderr) ? '[]' : undefined;
}

/**
 * "table chain" of every chain in nft's `ip`/`ip6` tables, where iptables-nft keeps its own. Not
 * knowing them is an error: apply would mark others' built-in chains as its own.
 */
function nftChains(family: IpFamily): string[] {
  const r = runTool('nft', ['-j', 'list', 'chains', NFT_FAMILY[family]]);
  if (!r.ok) throw new FirewallError(`nft -j list chains ${NFT_FAMILY[family]} failed: ${r.stderr.trim() || 'no output'}`);
  try {
    const listed = (JSON.parse(r.stdout) as { nftables?: { chain?: { table: string; name: string } }[] }).nftables ?? [];
    return listed.flatMap((entry) => (entry.chain ? [`${entry.chain.table} ${entry.chain.name}`] : []));
  } catch (err) {
    throw new FirewallError(`cannot read nft -j list chains ${NFT_FAMILY[family]}: ${(err as Error).message}`);
  }
}

/** The names of the ipsets in this namespace; undefined when the tool is missing. */
function ipsets(): string[] | undefined {
  const r = runTool('ipset', ['list', '-n']);
  return r.ok ? r.stdout.split('\n').filter((name) => name !== '') : undefined;
}

/** A read-only look at what is installed in this namespace. */
export function observe(names: Pick<OwnedNames, 'nftTable'>): Observed {
  const nft = runTool('nft', ['--version']).ok;
  const nftTable = nft && runTool('nft', ['-t', 'list', 'table', 'inet', names.nftTable]).ok;
  const iptablesNft = runTool('iptables', ['-V']).stdout.includes('nf_tables');
  return { nft, nftTable, iptablesNft, saved: { ipv4: saved('ipv4'), ipv6: saved('ipv6') }, ipsets: ipsets() };
}

/** What apply needs on top: iptables-nft's chains, and the route table when the plan uses policy routing. */
export function observeForApply(plan: FirewallPlan): Observed {
  const observed = observe(plan);
  const chains = observed.iptablesNft && observed.nft ? { nftChains: { ipv4: nftChains('ipv4'), ipv6: nftChains('ipv6') } } : {};
  const table = plan.families.some(usesPolicyRouting) ? { routes: { ipv4: routes(plan.routeTable, 'ipv4'), ipv6: routes(plan.routeTable, 'ipv6') } } : {};
  return { ...observed, ...chains, ...table };
}
