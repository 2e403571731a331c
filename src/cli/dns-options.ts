import type { Argv } from 'yargs';
import { ConfigError } from '../config/load.js';

/** Flags of the `dns:` and `sniff:` sections; each one present overrides the file. */
export function withDnsOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('dns', { type: 'string', describe: 'DNS server (UDP and TCP) for applications, ADDR:PORT, e.g. 127.0.0.53:53' })
    .option('dns-upstream', { type: 'string', array: true, describe: 'Real resolver reached through the upstream proxy, repeatable, tried in order: tcp://IP[:PORT]' })
    .option('fake-ip', {
      type: 'string',
      array: true,
      describe: 'Fake-IP mode: answer A/AAAA from these ranges (one per family) so flows go upstream by name; alone: 198.18.0.0/15 and fc00::/18',
    })
    .option('fake-ip-state', { type: 'string', describe: 'File keeping the fake-IP mappings across restarts', normalize: true })
    .option('fake-ip-exclude', { type: 'string', array: true, describe: 'Domain suffix resolved normally in fake-IP mode, repeatable' })
    .option('sniff', { type: 'boolean', describe: 'Learn the name of flows to real IPs from TLS SNI / HTTP Host and CONNECT by name' })
    .option('sniff-timeout-ms', { type: 'number', describe: 'Longest wait for the first bytes when sniffing (default 300)' });
}

export interface DnsArgs {
  dns?: string;
  dnsUpstream?: string[];
  fakeIp?: string[];
  fakeIpState?: string;
  fakeIpExclude?: string[];
  sniff?: boolean;
  sniffTimeoutMs?: number;
}

export function dnsOverrides(args: DnsArgs): Record<string, unknown> & { fake_ip?: Record<string, unknown> } {
  const fakeIp: Record<string, unknown> = {};
  if (args.fakeIp !== undefined) {
    fakeIp.enabled = true;
    const ranges = args.fakeIp.filter((r) => r !== '');
    if (ranges.length) fakeIp.ranges = ranges;
  }
  if (args.fakeIpState !== undefined) fakeIp.state_file = args.fakeIpState;
  if (args.fakeIpExclude?.length) fakeIp.exclude = args.fakeIpExclude;
  return {
    ...(args.dns !== undefined ? { listen: args.dns } : {}),
    ...(args.dnsUpstream?.length ? { upstreams: args.dnsUpstream } : {}),
    ...(Object.keys(fakeIp).length ? { fake_ip: fakeIp } : {}),
  };
}

export function sniffOverrides(args: DnsArgs): Record<string, unknown> {
  if (args.sniffTimeoutMs !== undefined && !Number.isFinite(args.sniffTimeoutMs)) {
    throw new ConfigError([{ path: 'sniff.timeout_ms', message: '--sniff-timeout-ms: expected a number of milliseconds' }]);
  }
  return {
    ...(args.sniff !== undefined ? { enabled: args.sniff } : {}),
    ...(args.sniffTimeoutMs !== undefined ? { timeout_ms: args.sniffTimeoutMs } : {}),
  };
}
