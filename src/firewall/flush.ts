import { runStep } from './exec.js';
import { observe } from './observe.js';
import type { Step } from './step.js';
import { flushSteps, type OwnedNames } from './transaction.js';

export function prepareFlush(names: OwnedNames): Step[] {
  return flushSteps(names, observe(names));
}

/**
 * Removes every table, chain, jump, ip rule and route of ours, whichever backend installed them.
 * Runs every step even when one fails, then throws the first failure.
 */
export function flushRules(names: OwnedNames): Step[] {
  const steps = prepareFlush(names);
  let first: unknown;
  for (const step of steps) {
    try {
      runStep(step);
    } catch (err) {
      first ??= err;
    }
  }
  if (first) throw first;
  return steps;
}
