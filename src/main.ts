#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { checkModule } from './cli/check.js';
import { runModule } from './cli/run.js';
import { rulesModule } from './cli/rules.js';
import { statusModule } from './cli/status.js';
import { execModule } from './cli/exec/index.js';
import { doctorModule } from './cli/doctor/index.js';
import { demoModule } from './cli/demo/index.js';

await yargs(hideBin(process.argv))
  .scriptName('socksgate')
  .usage(
    '$0 <command> [options]\n\nMakes unmodified programs use a SOCKS or HTTP CONNECT proxy: the kernel diverts their traffic (REDIRECT/TPROXY) and socksgate carries it through the upstream.',
  )
  .wrap(Math.min(110, process.stdout.columns ?? 100))
  .command(runModule)
  .command(checkModule)
  .command(rulesModule)
  .command(statusModule)
  .command(execModule)
  .command(doctorModule)
  .command(demoModule)
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
