import { runStep } from './exec.js';
import { observeForApply } from './observe.js';
import type { FirewallPlan } from './plan.js';
import type { Step } from './step.js';
import { applySteps, resolveBackend, type Backend } from './transaction.js';

export interface Prepared {
  readonly backend: Backend;
  readonly steps: readonly Step[];
}

/** Exactly the steps `applyRules` would run now (what `rules print` shows). */
export function prepareApply(plan: FirewallPlan, setting: 'auto' | Backend): Prepared {
  const observed = observeForApply(plan);
  const backend = resolveBackend(setting, observed);
  return { backend, steps: applySteps(plan, backend, observed) };
}

/** Installs the plan, replacing whatever of ours is already there. Throws FirewallError. */
export function applyRules(plan: FirewallPlan, setting: 'auto' | Backend): Prepared {
  const prepared = prepareApply(plan, setting);
  for (const step of prepared.steps) runStep(step);
  return prepared;
}
