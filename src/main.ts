#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded
// V8's young generation grows to 2 × 16 MiB by default and all of it stays resident; at 1 MiB a
// burst of connections costs a few more scavenges (no measurable CPU) and idle RSS per proxied
// connection halves. --single-threaded: V8 collects and compiles on the main thread; its
// background threads each kept a malloc arena that grew with every burst (+2.8 MiB over 8 bursts
// of 5,000 flows), and moving a heap of ~10 MiB off-thread bought no measurable CPU here.
// Running `node [flags] main.js` directly overrides this line.
import type { CommandModule } from 'yargs';

/**
 * Each command's module (and what it imports: firewall, DNS, cgroups, the lab…) is loaded only
 * when it is the command being run; help, a typo or options before the command load them all.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<CommandModule>]> = [
  ['run', async () => (await import('./cli/run.js')).runModule],
  ['check', async () => (await import('./cli/check.js')).checkModule],
  ['route', async () => (await import('./cli/route-explain.js')).routeModule],
  ['rules', async () => (await import('./cli/rules.js')).rulesModule],
  ['status', async () => (await import('./cli/status.js')).statusModule],
  ['exec', async () => (await import('./cli/exec/index.js')).execModule],
  ['doctor', async () => (await import('./cli/doctor/index.js')).doctorModule],
  ['demo', async () => (await import('./cli/demo/index.js')).demoModule],
];

// Not top-level await: the bundle is CommonJS (no ESM loader at start-up); a rejection still
// ends the process with its stack, as an unhandled rejection.
void (async () => {
  const argv = process.argv.slice(2);
  // A plain `run` line starts the daemon without loading yargs at all (src/cli/run-flags.ts).
  if (argv[0] === 'run' && (await (await import('./cli/run.js')).runWithoutYargs(argv.slice(1)))) return;
  // Loaded here, not imported above: a plain `run` never needs it.
  const { default: yargs } = await import('yargs');
  const named = COMMANDS.find(([name]) => name === argv[0]);
  const modules = await Promise.all((named ? [named] : COMMANDS).map(([, load]) => load()));

  const cli = yargs(argv)
    .scriptName('socksgate')
    .usage(
      '$0 <command> [options]\n\nMakes unmodified programs use a SOCKS or HTTP CONNECT proxy: the kernel diverts their traffic (REDIRECT/TPROXY) and socksgate carries it through the upstream.',
    )
    .wrap(Math.min(110, process.stdout.columns ?? 100));
  for (const module of modules) cli.command(module);
  if (named && !argv.some((a) => /^(-[^-]*h|--help)/.test(a))) {
    // yargs lays out a command's whole help text as its handler starts, in case the handler prints
    // it (~25 ms of start-up, ~100 ms wrapped); no handler here does, so that copy is skipped.
    const usage = (cli as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } }).getInternalMethods().getUsageInstance();
    usage.cacheHelpMessage = () => {};
  }
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
})();
