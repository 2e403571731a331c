import { prepareApply } from '../../firewall/apply.js';
import { runStep } from '../../firewall/exec.js';
import { prepareFlush } from '../../firewall/flush.js';
import type { FirewallPlan } from '../../firewall/plan.js';
import type { Step } from '../../firewall/step.js';
import type { Backend, OwnedNames } from '../../firewall/transaction.js';

/**
 * exec's plan changes no routing, but apply and flush always (re)set the policy routing of their
 * fwmark, which the daemon's own rules may be using: exec leaves those steps out.
 */
const notRouting = (step: Step) => step.cmd !== 'ip';

export function installExecRules(plan: FirewallPlan, setting: 'auto' | Backend): Backend {
  const { backend, steps } = prepareApply(plan, setting);
  for (const step of steps.filter(notRouting)) runStep(step);
  return backend;
}

/** Runs every step even when one fails, then throws the first failure. */
export function removeExecRules(names: OwnedNames): void {
  let first: unknown;
  for (const step of prepareFlush(names).filter(notRouting)) {
    try {
      runStep(step);
    } catch (err) {
      first ??= err;
    }
  }
  if (first) throw first;
}
