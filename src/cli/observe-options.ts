import type { Argv } from 'yargs';
import { parseHostPort, type SocksAddr } from '../core/addr.js';
import { ConfigError } from '../config/load.js';
import { DEFAULT_CONTROL_PATH } from '../observe/control.js';

export interface ObserveArgs {
  metrics?: string;
  control?: string;
}

export function withControlOption<T>(yargs: Argv<T>) {
  return yargs.option('control', {
    type: 'string',
    describe: `Unix control socket for \`socksgate status\` (owner only), or "off" (default ${DEFAULT_CONTROL_PATH})`,
  });
}

export function withObserveOptions<T>(yargs: Argv<T>) {
  return withControlOption(yargs).option('metrics', {
    type: 'string',
    describe: 'Serve Prometheus metrics at http://ADDR:PORT/metrics; a bare PORT listens on 127.0.0.1 (default: off)',
  });
}

/** `--metrics 9464` means loopback: metrics name every destination, so they are not for the network. */
export function metricsAddress(text: string | undefined): SocksAddr | undefined {
  if (text === undefined) return undefined;
  try {
    return parseHostPort(/^\d+$/.test(text) ? `127.0.0.1:${text}` : text);
  } catch (err) {
    throw new ConfigError([{ path: 'metrics', message: `--metrics ${text}: ${(err as Error).message}` }]);
  }
}

export function controlPath(text: string | undefined): string | undefined {
  if (text === 'off') return undefined;
  return text ?? DEFAULT_CONTROL_PATH;
}
