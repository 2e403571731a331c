import { spawn } from 'node:child_process';
import type { Argv, CommandModule } from 'yargs';
import { ExecCgroup } from '../../cgroup/cgroup2.js';
import { ConfigError, type Config } from '../../config/load.js';
import { errorMessage } from '../../core/errors.js';
import type { FirewallPlan } from '../../firewall/plan.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from '../options.js';
import { withRulesOptions } from '../rules-options.js';
import { execOwnedNames, execPlan } from './exec-rules.js';
import { pidAlive, sweepDeadExecRules } from './sweep.js';
import { installExecRules, removeExecRules } from './exec-rules-install.js';
import { findExecTarget, type ExecTarget, type TargetArgs } from './target.js';
import { execTeardown } from './teardown.js';
import { withControlOption } from '../observe-options.js';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

function say(line: string): void {
  process.stderr.write(`socksgate exec: ${line}\n`);
}

function runInCgroup(config: Config, target: ExecTarget, command: readonly string[]): void {
  const cgroup = ExecCgroup.create((pid) => !pidAlive(pid));
  sweepDeadExecRules((id) => cgroup.hasSibling(`exec-${id}`));
  let plan: FirewallPlan;
  try {
    plan = execPlan(config.rules, target, cgroup, process.pid);
  } catch (err) {
    cgroup.remove();
    if (err instanceof ConfigError) say(`diverting to ${target.source}:`);
    throw err;
  }
  const cleanup = execTeardown(cgroup, () => removeExecRules(execOwnedNames(process.pid)), say);
  process.on('exit', cleanup);
  installExecRules(plan, config.rules.backend);
  const [file, ...argv] = cgroup.wrap(command);
  const child = spawn(file, argv, { stdio: 'inherit' });
  // The command gets the terminal's signals itself; these cover `kill` aimed at socksgate.
  for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    say(`cannot start ${command[0]}: ${err.message}`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    cleanup();
    process.exit(code ?? 128 + (signal ? signalNumber(signal) : 0));
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}

export const execModule: CommandModule = {
  command: 'exec',
  describe:
    "Run a command with only its traffic diverted to the running daemon: it gets its own cgroup v2 and REDIRECT rules matching that cgroup (static and Go binaries too). The daemon's listeners come from its control socket, or -c/--redirect. The cgroup and rules are removed when it exits. Use: socksgate exec [options] -- COMMAND [ARGS…]",
  builder: (yargs: Argv) =>
    withControlOption(withRulesOptions(withConfigOptions(yargs))).usage('$0 exec [options] -- COMMAND [ARGS…]'),
  handler: async (args) => {
    let config: Config;
    try {
      // The upstreams are the daemon's business: exec only diverts to it.
      config = configFromArgs(args as never, 'optional');
    } catch (err) {
      exitOnConfigError(err);
    }
    // Everything after `--` is the command, untouched by option parsing; yargs leaves it in `_`.
    const command = args._.slice(1).map(String);
    if (!command.length) {
      say('name a command after --, e.g. socksgate exec -- curl https://example.com');
      process.exit(2);
    }
    try {
      runInCgroup(config, await findExecTarget(config, args as TargetArgs), command);
    } catch (err) {
      if (err instanceof ConfigError) exitOnConfigError(err);
      say(errorMessage(err));
      process.exit(1);
    }
  },
};
