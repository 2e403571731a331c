import type { Argv, CommandModule } from 'yargs';
import { RUN_RULES } from '../daemon/rules.js';
import { runDaemon } from '../daemon/run.js';
import { configFromArgs, exitOnConfigError, hideSecretsFromPs, withConfigOptions } from './options.js';
import { withRulesOptions } from './rules-options.js';
import { controlPath, metricsAddress, withObserveOptions, type ObserveArgs } from './observe-options.js';

type RunArgs = Parameters<typeof configFromArgs>[0] & ObserveArgs & { rules?: string };

async function runCommand(args: RunArgs): Promise<void> {
  hideSecretsFromPs(process.argv.slice(2));
  let observe;
  try {
    observe = { metricsAt: metricsAddress(args.metrics), control: controlPath(args.control) };
  } catch (err) {
    exitOnConfigError(err);
  }
  await runDaemon({ loadConfig: () => configFromArgs(args), rules: args.rules, observe, onConfigError: exitOnConfigError });
}

export const runModule: CommandModule = {
  command: 'run',
  describe: 'Run the daemon: accept diverted connections and carry them through the upstream proxy',
  builder: (yargs: Argv) =>
    withObserveOptions(withRulesOptions(withConfigOptions(yargs))).option('rules', {
      type: 'string',
      choices: RUN_RULES,
      default: 'off',
      describe: 'auto: apply the firewall rules (see `socksgate rules`) once listening, flush them at exit',
    }),
  handler: (args) => runCommand(args as RunArgs),
};
