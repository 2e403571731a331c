import type { Argv } from 'yargs';

/** UDP flags; each one overrides its key in the file's `udp:` section. */
export function withUdpOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('udp-timeout', { type: 'number', describe: 'Seconds before an idle UDP association (and reply socket) is closed [udp.timeout_s, default 60]' })
    .option('udp-max-associations', { type: 'number', describe: 'Most UDP associations at once; the least recently used is closed [udp.max_associations, default 1024]' });
}

export interface UdpArgs {
  udpTimeout?: number;
  udpMaxAssociations?: number;
}

export function udpOverrides(args: UdpArgs): Record<string, unknown> {
  const udp: Record<string, unknown> = {};
  if (args.udpTimeout !== undefined) udp.timeout_s = args.udpTimeout;
  if (args.udpMaxAssociations !== undefined) udp.max_associations = args.udpMaxAssociations;
  return udp;
}
