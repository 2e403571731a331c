import type { Argv, CommandModule } from 'yargs';
import { formatAddr } from '../core/addr.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from './options.js';

export const checkModule: CommandModule = {
  command: 'check',
  describe: 'Validate the config (and flags) without running; exit 2 naming each bad key',
  builder: (yargs: Argv) => withConfigOptions(yargs),
  handler: (args) => {
    try {
      const config = configFromArgs(args as never);
      const listeners = [...config.redirect.map((a) => `redirect ${formatAddr(a)}`), ...config.tproxy.map((a) => `tproxy ${formatAddr(a)}`)];
      process.stdout.write(`config OK: upstreams ${config.upstreams.map((u) => u.name).join(', ')}; listeners ${listeners.join(', ')}\n`);
    } catch (err) {
      exitOnConfigError(err);
    }
  },
};
