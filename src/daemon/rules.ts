import { errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import { applyRules } from '../firewall/apply.js';
import { describePlan } from '../firewall/describe.js';
import { flushRules } from '../firewall/flush.js';
import { ownedNames, planFromConfig } from '../firewall/from-config.js';
import { swapRules } from '../firewall/swap.js';
import type { Logger } from '../core/log.js';

export const RUN_RULES = ['off', 'auto'] as const;

export interface DaemonRules {
  /** Installs the rules; afterwards they are removed at any exit but SIGKILL. */
  install(): void;
  /** Removes them now (idempotent). */
  remove(): void;
  /** Reload: plans `next` (throws ConfigError), re-applies in one transaction if the plan changed. */
  update(next: Config): 'off' | 'not installed' | 'unchanged' | 'applied';
}

/**
 * `run --rules auto`: the rules live exactly as long as the daemon. Planned up front, so a config
 * the rules cannot serve is rejected before anything listens.
 */
export function daemonRules(setting: string | undefined, config: Config, log: Logger): DaemonRules {
  if (setting !== 'auto') return { install() {}, remove() {}, update: () => 'off' };
  let plan = planFromConfig(config);
  let installed = false;
  const remove = () => {
    if (!installed) return;
    installed = false;
    try {
      flushRules(ownedNames(config));
      log.info('rules flushed');
    } catch (err) {
      log.error({ reason: 'SG_ERR_FIREWALL' }, `cannot flush rules: ${errorMessage(err)}`);
    }
  };
  return {
    install() {
      // 'exit' also runs after an uncaught exception, so a fatal error leaves no rules behind.
      process.on('exit', remove);
      installed = true;
      const { backend } = applyRules(plan, config.rules.backend);
      log.info({ rules: describePlan(plan, backend) }, 'rules applied');
    },
    remove,
    update(next) {
      const nextPlan = planFromConfig(next);
      if (!installed) {
        // Not yet (the next install uses it) or no more (stopping): applying now would leave rules behind.
        [plan, config] = [nextPlan, next];
        return 'not installed';
      }
      if (JSON.stringify(nextPlan) === JSON.stringify(plan)) return 'unchanged';
      const { backend } = swapRules(plan, nextPlan, next.rules.backend);
      plan = nextPlan;
      config = next;
      log.info({ rules: describePlan(plan, backend) }, 'rules re-applied');
      return 'applied';
    },
  };
}
