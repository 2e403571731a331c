import type { Argv } from 'yargs';
import { LOG_LEVELS } from '../config/schema.js';
import { ConfigError, DEFAULT_REDIRECT, loadConfig, type Config, type ConfigOverrides, type UpstreamsRequirement } from '../config/load.js';
import { rulesOverrides, type RulesArgs } from './rules-options.js';
import { redactArgv } from '../config/secret-args.js';
import { dnsOverrides, sniffOverrides, withDnsOptions, type DnsArgs } from './dns-options.js';
import { udpOverrides, withUdpOptions, type UdpArgs } from './udp-options.js';

/** Flags shared by every command that reads a config; each one overrides the file. */
export function withConfigOptions<T>(yargs: Argv<T>) {
  return withUdpOptions(withDnsOptions(yargs))
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file', normalize: true })
    .option('upstream', {
      alias: 'u',
      type: 'string',
      array: true,
      describe:
        'Upstream proxy URL, repeatable: socks5://[user[:pass]@]host:port, socks4://[userid@]host:port, socks4a://…, http://[user[:pass]@]host:port. Query options: ?pipelining=auto|on|off, ?password_file=PATH, ?password_env=VAR (keeps the password out of ps)',
    })
    .option('redirect', { type: 'string', array: true, describe: `TCP listener for REDIRECT/DNAT rules, ADDR:PORT, repeatable (default ${DEFAULT_REDIRECT} when no --tproxy)` })
    .option('tproxy', { type: 'string', array: true, describe: 'Transparent (TPROXY) listener for TCP and UDP on the same port, ADDR:PORT, repeatable; [::]:PORT serves IPv4 and IPv6' })
    .option('socks', { type: 'string', array: true, describe: 'Local SOCKS4/4a/5 and HTTP proxy listener, ADDR:PORT, repeatable (replaces inbounds.socks; no users: loopback only)' })
    .option('mark', { type: 'string', describe: 'SO_MARK for the daemon\'s own sockets (decimal or 0x hex), so rules can exclude them' })
    .option('relay', { type: 'string', choices: ['splice', 'copy'], describe: 'How established connections are relayed: splice (in the kernel, default) or copy (through Node)' })
    .option('optimistic-data', {
      type: 'boolean',
      describe: 'Send the client\'s first bytes in the same write as the upstream handshake (SOCKS5 upstreams that take pipelining; SOCKS4/HTTP ones with ?pipelining=on): one round trip less to the first byte',
    })
    .option('optimistic-data-wait-ms', { type: 'number', describe: 'Longest wait for the client\'s first bytes with --optimistic-data; server-first protocols are delayed this much (default 50)' })
    .option('workers', { type: 'number', describe: 'Processes accepting connections, with SO_REUSEPORT listeners (default 1; not with fake-IP DNS)' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, describe: 'Log level' });
}

interface ConfigArgs extends DnsArgs, UdpArgs {
  config?: string;
  upstream?: string[];
  redirect?: string[];
  tproxy?: string[];
  socks?: string[];
  mark?: string;
  relay?: string;
  workers?: number;
  optimisticData?: boolean;
  optimisticDataWaitMs?: number;
  logLevel?: string;
}

function parseMark(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ConfigError([{ path: 'mark', message: `--mark ${text}: expected an integer 0..0xffffffff` }]);
  }
  return value;
}

function optimisticDataOverrides(args: ConfigArgs): Record<string, unknown> {
  if (args.optimisticDataWaitMs !== undefined && !Number.isFinite(args.optimisticDataWaitMs)) {
    throw new ConfigError([{ path: 'optimistic_data.wait_ms', message: '--optimistic-data-wait-ms: expected a number of milliseconds' }]);
  }
  return {
    ...(args.optimisticData !== undefined ? { enabled: args.optimisticData } : {}),
    ...(args.optimisticDataWaitMs !== undefined ? { wait_ms: args.optimisticDataWaitMs } : {}),
  };
}

/** Every command that reads --upstream hides its passwords from `ps` first. */
export function configFromArgs(args: ConfigArgs & RulesArgs, upstreams: UpstreamsRequirement = 'required'): Config {
  hideSecretsFromPs(process.argv.slice(2));
  const flags: ConfigOverrides = {
    rules: rulesOverrides(args),
    upstream: args.upstream,
    redirect: args.redirect,
    tproxy: args.tproxy,
    socks: args.socks,
    mark: parseMark(args.mark),
    relay: args.relay,
    workers: args.workers,
    logLevel: args.logLevel,
    dns: dnsOverrides(args),
    sniff: sniffOverrides(args),
    udp: udpOverrides(args),
    optimisticData: optimisticDataOverrides(args),
  };
  return loadConfig(args.config, flags, process.env, upstreams);
}

/** Prints config errors, one per line with the key path, and exits 2. */
export function exitOnConfigError(err: unknown): never {
  if (!(err instanceof ConfigError)) throw err;
  for (const issue of err.issues) process.stderr.write(`config error: ${issue.path ? issue.path + ': ' : ''}${issue.message}\n`);
  process.exit(2);
}

/** Credentials typed on the command line would show in `ps`: overwrite the process title. */
export function hideSecretsFromPs(argv: readonly string[]): void {
  const redacted = redactArgv(argv);
  if (redacted.some((arg, i) => arg !== argv[i])) process.title = ['socksgate', ...redacted].join(' ');
}
