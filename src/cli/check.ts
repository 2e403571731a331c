import type { Argv, CommandModule } from 'yargs';
import { formatAddr } from '../core/addr.js';
import { inspectRouting } from '../daemon/reload.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from './options.js';

export const checkModule: CommandModule = {
  command: 'check',
  describe: 'Validate the config (and flags) and compile the route with its list files, without running; exit 2 naming each bad key (and file:line)',
  builder: (yargs: Argv) => withConfigOptions(yargs),
  handler: (args) => {
    try {
      const config = configFromArgs(args as never);
      const { route } = inspectRouting(config);
      const listeners = [...config.redirect.map((a) => `redirect ${formatAddr(a)}`), ...config.tproxy.map((a) => `tproxy ${formatAddr(a)}`)];
      const chains = config.chains.map((c) => `${c.name} (${c.hops.join(' → ')})`);
      process.stdout.write(`config OK: upstreams ${config.upstreams.map((u) => u.name).join(', ')}${chains.length ? `; chains ${chains.join(', ')}` : ''}; listeners ${listeners.join(', ')}; route: ${route.size} rules, ${route.final.rule}\n`);
    } catch (err) {
      exitOnConfigError(err);
    }
  },
};
