import type { Argv, CommandModule } from 'yargs';
import { RUN_RULES } from '../daemon/rules.js';
import { runDaemon } from '../daemon/run.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from './options.js';
import { restoreWorkerUpstreams, workerSecretsEnv } from '../config/secret-args.js';
import { withRulesOptions } from './rules-options.js';
import { controlPath, metricsAddress, withObserveOptions, type ObserveArgs } from './observe-options.js';
import { readRunFlags } from './run-flags.js';

type RunArgs = Parameters<typeof configFromArgs>[0] & ObserveArgs & { rules?: string };

async function runCommand(args: RunArgs): Promise<void> {
  let observe;
  try {
    // A worker's --upstream values come redacted in its argv, whole in its environment.
    args.upstream = restoreWorkerUpstreams(args.upstream, process.env);
    observe = { metricsAt: metricsAddress(args.metrics), control: controlPath(args.control) };
  } catch (err) {
    exitOnConfigError(err);
  }
  const workerEnv = workerSecretsEnv(args.upstream);
  await runDaemon({ loadConfig: () => configFromArgs(args), rules: args.rules, observe, workerEnv, onConfigError: exitOnConfigError });
}

/**
 * Runs the daemon from a plain `run` command line without yargs (the flags after `run`); false,
 * having done nothing, when the line needs yargs (help, an error to report, a form only it reads).
 */
export async function runWithoutYargs(argv: readonly string[]): Promise<boolean> {
  const args = readRunFlags(argv);
  if (!args) return false;
  await runCommand(args as RunArgs);
  return true;
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
