import type { Argv, CommandModule } from 'yargs';
import { errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import { applyRules, prepareApply } from '../firewall/apply.js';
import { FirewallError } from '../firewall/exec.js';
import { flushRules } from '../firewall/flush.js';
import { ownedNames, planFromConfig } from '../firewall/from-config.js';
import { describePlan } from '../firewall/describe.js';
import { KERNEL_DIRECT_RULE } from '../firewall/kernel-direct.js';
import { formatStep } from '../firewall/step.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from './options.js';
import { withRulesOptions } from './rules-options.js';

const ACTIONS = ['apply', 'flush', 'print'] as const;
type Action = (typeof ACTIONS)[number];

function run(action: Action, config: Config): void {
  if (action === 'flush') {
    const steps = flushRules(ownedNames(config));
    process.stdout.write(`socksgate rules flushed (${steps.length} steps)\n`);
    return;
  }
  const plan = planFromConfig(config);
  if (action === 'print') {
    const { backend, steps } = prepareApply(plan, config.rules.backend);
    const direct = plan.families.some((f) => f.direct) ? `# kernel direct lists: ${KERNEL_DIRECT_RULE}\n` : '';
    process.stdout.write(`# socksgate rules apply: ${describePlan(plan, backend)}\n${direct}${steps.map(formatStep).join('')}`);
    return;
  }
  const { backend } = applyRules(plan, config.rules.backend);
  process.stdout.write(`socksgate rules applied: ${describePlan(plan, backend)}\n`);
}

export const rulesModule: CommandModule = {
  command: 'rules <action>',
  describe: 'Install (apply), remove (flush) or show (print) the firewall rules that divert traffic to socksgate',
  builder: (yargs: Argv) =>
    withRulesOptions(withConfigOptions(yargs)).positional('action', {
      choices: ACTIONS,
      describe: 'apply: install atomically, replacing any earlier set; flush: remove everything socksgate installed; print: show the commands apply would run',
    }),
  handler: (args) => {
    try {
      run(args.action as Action, configFromArgs(args as never));
    } catch (err) {
      if (!(err instanceof FirewallError)) exitOnConfigError(err);
      process.stderr.write(`socksgate rules ${String(args.action)}: ${errorMessage(err)}\n`);
      process.exit(1);
    }
  },
};
