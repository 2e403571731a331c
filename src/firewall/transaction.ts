import type { IpFamily } from '../core/cidr.js';
import type { FirewallPlan } from './plan.js';
import { renderCreatedTablesRemoval } from './iptables-nft-tables.js';
import { ipsetName, renderIpsetLoad, staleIpsets } from './render-ipset.js';
import { renderIptables, renderIptablesFlush } from './render-iptables.js';
import { renderNft, renderNftFlush } from './render-nft.js';
import { routingApplySteps, routingFlushSteps, type RouteTables } from './routing.js';
import type { Step } from './step.js';

/** Which steps apply and flush run, from the plan and what is installed now. Pure. */

export type Backend = 'nft' | 'iptables';

/** What the read-only look at the namespace found (see observe.ts). */
export interface Observed {
  /** The `nft` tool runs. */
  readonly nft: boolean;
  /** Our nft table exists. */
  readonly nftTable: boolean;
  /** iptables is the nf_tables variant (iptables-nft), whose tables nft can delete. */
  readonly iptablesNft: boolean;
  /** iptables-save / ip6tables-save output, or undefined when the tool is missing. */
  readonly saved: Readonly<Record<IpFamily, string | undefined>>;
  /** For apply, with iptables-nft and nft: "table chain" of the chains nft lists in the `ip`/`ip6` tables. */
  readonly nftChains?: Readonly<Record<IpFamily, readonly string[]>>;
  /** The plan's route table, when it uses policy routing (see route-table.ts). */
  readonly routes?: RouteTables;
  /** `ipset list -n` output (every set's name), or undefined when the tool is missing. */
  readonly ipsets?: readonly string[];
}

/** The names flush needs; flush must work even when the rest of the config no longer plans. */
export type OwnedNames = Pick<FirewallPlan, 'nftTable' | 'chain' | 'fwmark' | 'routeTable'>;

const RESTORE: Record<IpFamily, string> = { ipv4: 'iptables-restore', ipv6: 'ip6tables-restore' };
const FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];

export function resolveBackend(setting: 'auto' | Backend, observed: Pick<Observed, 'nft'>): Backend {
  if (setting !== 'auto') return setting;
  return observed.nft ? 'nft' : 'iptables';
}

function nftStep(text: string): Step {
  return { cmd: 'nft', args: ['-f', '-'], input: text };
}

function restoreStep(family: IpFamily, text: string): Step {
  return { cmd: RESTORE[family], args: ['--noflush'], input: text };
}

/** Our chains in iptables, removed (in either backend's apply a stale set from the other goes too). */
function iptablesFlushSteps(names: OwnedNames, observed: Observed): Step[] {
  return FAMILIES.flatMap((family) => {
    const saved = observed.saved[family];
    if (saved === undefined) return [];
    const text = renderIptablesFlush(names.chain, saved);
    const tables = canDeleteTables(observed) ? renderCreatedTablesRemoval(names.chain, family, saved) : '';
    return [...(text ? [restoreStep(family, text)] : []), ...(tables ? [{ ...nftStep(tables), mayFail: true }] : [])];
  });
}

/** Our ipsets that `keep` does not name, destroyed: only after the rules that match them are gone. */
function ipsetDestroySteps(prefix: string, observed: Observed, keep: readonly string[]): Step[] {
  return staleIpsets(prefix, observed.ipsets ?? [], keep).map((name) => ({ cmd: 'ipset', args: ['destroy', name] }));
}

function canDeleteTables(observed: Observed): boolean {
  return observed.iptablesNft && observed.nft;
}

/**
 * Routing first, so nothing is ever marked without a route; a re-apply replaces everything of ours.
 * Throws FirewallError when the route table holds others' routes that would take marked packets.
 */
export function applySteps(plan: FirewallPlan, backend: Backend, observed: Observed): Step[] {
  const steps = routingApplySteps(plan, observed.routes);
  if (backend === 'nft') {
    steps.push(...iptablesFlushSteps(plan, observed), ...ipsetDestroySteps(plan.chain, observed, []), { ...nftStep(renderNft(plan)), shown: renderNft(plan, true) });
  } else {
    if (observed.nftTable) steps.push(nftStep(renderNftFlush(plan.nftTable)));
    // The sets first: a rule that names a missing set does not load.
    const existing = observed.ipsets ?? [];
    for (const f of plan.families) {
      if (f.direct) steps.push({ cmd: 'ipset', args: ['restore', '-exist'], input: renderIpsetLoad(plan.chain, f, existing), shown: renderIpsetLoad(plan.chain, f, existing, true) });
    }
    for (const family of FAMILIES) {
      const text = renderIptables(plan, family, observed.saved[family] ?? '', canDeleteTables(observed) ? observed.nftChains?.[family] : undefined);
      if (text) steps.push(restoreStep(family, text));
    }
    steps.push(...ipsetDestroySteps(plan.chain, observed, plan.families.flatMap((f) => (f.direct ? [ipsetName(plan.chain, f.family)] : []))));
  }
  return steps;
}

/** Rules first, then routing: the reverse of apply. Nothing installed means only harmless deletes. */
export function flushSteps(names: OwnedNames, observed: Observed): Step[] {
  const steps: Step[] = [];
  if (observed.nftTable) steps.push(nftStep(renderNftFlush(names.nftTable)));
  steps.push(...iptablesFlushSteps(names, observed), ...ipsetDestroySteps(names.chain, observed, []), ...routingFlushSteps(names));
  return steps;
}
