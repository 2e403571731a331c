import { prepareApply, type Prepared } from './apply.js';
import { runStep } from './exec.js';
import { flushRules } from './flush.js';
import { usesPolicyRouting, type FirewallPlan } from './plan.js';
import type { Step } from './step.js';
import type { Backend } from './transaction.js';

function names(plan: FirewallPlan): string {
  return JSON.stringify([plan.nftTable, plan.chain, plan.fwmark, plan.routeTable]);
}

function routing(plan: FirewallPlan): string {
  return JSON.stringify([plan.fwmark, plan.routeTable, plan.families.filter(usesPolicyRouting).map((f) => f.family)]);
}

/** Renamed tables, chains, marks or route tables: the old set must go before the new one lands. */
export function swapNeedsFlush(current: FirewallPlan, next: FirewallPlan): boolean {
  return names(current) !== names(next);
}

/** Of the full apply steps, those a swap runs: policy routing that is the same stays untouched. Pure. */
export function swapSteps(current: FirewallPlan, next: FirewallPlan, applySteps: readonly Step[]): Step[] {
  const keepRouting = !swapNeedsFlush(current, next) && routing(current) === routing(next);
  return applySteps.filter((step) => !(keepRouting && step.cmd === 'ip'));
}

/**
 * Reload: `next` replaces `current` while the daemon keeps serving. The rules go in as one
 * transaction (one `nft -f` that recreates our table, or one restore per family), so no packet
 * sees half a ruleset, and TPROXY never loses its route when the routing is unchanged.
 */
export function swapRules(current: FirewallPlan, next: FirewallPlan, setting: 'auto' | Backend): Prepared {
  if (swapNeedsFlush(current, next)) {
    flushRules({ nftTable: current.nftTable, chain: current.chain, fwmark: current.fwmark, routeTable: current.routeTable });
  }
  const prepared = prepareApply(next, setting);
  for (const step of swapSteps(current, next, prepared.steps)) runStep(step);
  return prepared;
}
