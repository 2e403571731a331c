import type { Argv } from 'yargs';
import { RULES_BACKENDS, RULES_MODES } from '../config/schema.js';

/** Flags for the `rules:` config section, shared by `rules` and `run`; each overrides the file. */
export function withRulesOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('rules-backend', { type: 'string', choices: RULES_BACKENDS, describe: 'Firewall backend (auto: nft where the nft tool exists)' })
    .option('rules-mode', { type: 'string', choices: RULES_MODES, describe: "host: this machine's own traffic; router: traffic from LAN interfaces/sources; sidecar: this namespace only, REDIRECT, no routing changes" })
    .option('lan-interface', { type: 'string', array: true, describe: 'Router mode: divert traffic arriving on this interface, repeatable' })
    .option('lan-source', { type: 'string', array: true, describe: 'Router mode: divert traffic from this CIDR, repeatable' })
    .option('bypass', { type: 'string', array: true, describe: 'Never divert traffic to this CIDR, repeatable' })
    .option('bypass-port', { type: 'number', array: true, describe: 'Never divert traffic to this destination port, repeatable' })
    .option('exclude-uid', { type: 'number', array: true, describe: "Never divert this user's traffic, repeatable" })
    .option('exclude-gid', { type: 'number', array: true, describe: "Never divert this group's traffic, repeatable" })
    .option('dns-capture', { type: 'boolean', describe: 'Divert port 53 to the DNS listener (when configured); --no-dns-capture turns it off' })
    .option('udp', { type: 'boolean', describe: 'Divert UDP to the TPROXY listener too (default: yes when there is one, except in sidecar mode)' });
}

export interface RulesArgs {
  rulesBackend?: string;
  rulesMode?: string;
  lanInterface?: string[];
  lanSource?: string[];
  bypass?: string[];
  bypassPort?: number[];
  excludeUid?: number[];
  excludeGid?: number[];
  dnsCapture?: boolean;
  udp?: boolean;
}

/** The flags given, as `rules:` keys. */
export function rulesOverrides(args: RulesArgs): Record<string, unknown> {
  const pairs: [string, unknown][] = [
    ['backend', args.rulesBackend],
    ['mode', args.rulesMode],
    ['lan_interfaces', args.lanInterface],
    ['lan_sources', args.lanSource],
    ['bypass', args.bypass],
    ['bypass_ports', args.bypassPort],
    ['exclude_uids', args.excludeUid],
    ['exclude_gids', args.excludeGid],
    ['dns_capture', args.dnsCapture],
    ['udp', args.udp],
  ];
  return Object.fromEntries(pairs.filter(([, value]) => value !== undefined));
}
