#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { CommandModule } from 'yargs';

/**
 * Each command's module (and what it imports: firewall, DNS, cgroups, the lab…) is loaded only
 * when it is the command being run; help, a typo or options before the command load them all.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<CommandModule>]> = [
  ['run', async () => (await import('./cli/run.js')).runModule],
  ['check', async () => (await import('./cli/check.js')).checkModule],
  ['rules', async () => (await import('./cli/rules.js')).rulesModule],
  ['status', async () => (await import('./cli/status.js')).statusModule],
  ['exec', async () => (await import('./cli/exec/index.js')).execModule],
  ['doctor', async () => (await import('./cli/doctor/index.js')).doctorModule],
  ['demo', async () => (await import('./cli/demo/index.js')).demoModule],
];

const argv = hideBin(process.argv);
const named = COMMANDS.find(([name]) => name === argv[0]);
const modules = await Promise.all((named ? [named] : COMMANDS).map(([, load]) => load()));

const cli = yargs(argv)
  .scriptName('socksgate')
  .usage(
    '$0 <command> [options]\n\nMakes unmodified programs use a SOCKS or HTTP CONNECT proxy: the kernel diverts their traffic (REDIRECT/TPROXY) and socksgate carries it through the upstream.',
  )
  // yargs lays out a command's help text after its handler starts, in case the handler shows it;
  // wrapping that text costs ~100 ms of start-up, so it is wrapped only when help can be printed.
  .wrap(named && !argv.some((a) => /^(-[^-]*h|--help)/.test(a)) ? null : Math.min(110, process.stdout.columns ?? 100));
for (const module of modules) cli.command(module);
await cli
  .demandCommand(1, 'name a command')
  .strict()
  .help()
  .alias('h', 'help')
  .version()
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`${msg}\nRun socksgate --help for usage.\n`);
    process.exit(2);
  })
  .parseAsync();
