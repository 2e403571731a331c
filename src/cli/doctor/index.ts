import type { Argv, CommandModule } from 'yargs';
import { formatAddr, parseHostPort, type SocksAddr } from '../../core/addr.js';
import { errorMessage } from '../../core/errors.js';
import { ConfigError, type Config } from '../../config/load.js';
import type { UpstreamConfig } from '../../config/upstream.js';
import { planFromConfig } from '../../firewall/from-config.js';
import { observe } from '../../firewall/observe.js';
import type { FirewallPlan } from '../../firewall/plan.js';
import { resolveBackend } from '../../firewall/transaction.js';
import { connectTcp } from '../../outbound/tcp-connect.js';
import { configFromArgs, exitOnConfigError, withConfigOptions } from '../options.js';
import { withRulesOptions } from '../rules-options.js';
import { capabilityFindings } from './capabilities.js';
import { dnsLeakFindings } from './dns-leak.js';
import { groupFindings } from './groups.js';
import { installedRulesFindings } from './installed-rules.js';
import { backendFindings, kernelFindings, policyRoutingFindings } from './kernel.js';
import { failed, finding, formatFinding, type Finding } from './report.js';
import { socksInboundFindings } from './socks-inbound.js';
import { probeSocks5, type ProbeSettings } from './upstream-socks5.js';

interface DoctorArgs {
  udpEcho?: string;
  target?: string[];
  timeout: number;
}

function print(findings: readonly Finding[]): void {
  for (const f of findings) process.stdout.write(formatFinding(f));
}

/** SOCKS4 and HTTP CONNECT: only reachability can be checked without a target, and no UDP exists. */
async function probeOther(upstream: UpstreamConfig, s: ProbeSettings): Promise<Finding[]> {
  const subject = `upstream ${upstream.name}: reachable`;
  try {
    (await connectTcp(upstream.server, { mark: s.mark, timeoutMs: s.timeoutMs })).destroy();
  } catch (err) {
    return [finding('FAIL', subject, errorMessage(err))];
  }
  const udp = finding(s.udpDiverted ? 'FAIL' : 'info', `upstream ${upstream.name}: UDP`, `${upstream.protocol} has no UDP${s.udpDiverted ? ': diverted UDP is dropped' : ''}`);
  return [finding('ok', subject, `TCP connection to ${formatAddr(upstream.server)}`), udp];
}

function planOrFinding(config: Config): FirewallPlan | Finding {
  try {
    return planFromConfig(config);
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : errorMessage(err);
    return finding('FAIL', 'rules', `this config cannot be diverted: ${issues}`);
  }
}

async function doctor(config: Config, args: DoctorArgs): Promise<boolean> {
  const observed = observe({ nftTable: config.rules.nft_table });
  const backend = resolveBackend(config.rules.backend, observed);
  const all: Finding[] = [...kernelFindings(observed), ...backendFindings(observed, backend, config.rules.backend), ...policyRoutingFindings(), ...capabilityFindings(config)];
  print(all);
  const planned = planOrFinding(config);
  const plan = 'families' in planned ? planned : undefined;
  const rules = plan ? installedRulesFindings(plan, observed) : [planned as Finding];
  print(rules);
  all.push(...rules);
  const settings: ProbeSettings = {
    mark: config.mark,
    timeoutMs: args.timeout,
    udpDiverted: rules[0]?.status === 'ok' && !!plan?.families.some((f) => f.udp),
    ...(args.udpEcho ? { udpEcho: parseHostPort(args.udpEcho) } : {}),
    targets: (args.target ?? []).map((t): SocksAddr => parseHostPort(t)),
  };
  let upstreamUdp = true;
  const byUpstream = new Map<string, Finding[]>();
  for (const upstream of config.upstreams) {
    const found = upstream.protocol === 'socks5' ? await probeSocks5(upstream, settings) : await probeOther(upstream, settings);
    if (!found.some((f) => /UDP ASSOCIATE/.test(f.subject) && f.status === 'ok')) upstreamUdp = false;
    byUpstream.set(upstream.name, found);
    print(found);
    all.push(...found);
  }
  const groups = groupFindings(config, byUpstream);
  print(groups);
  all.push(...groups);
  const dns = dnsLeakFindings(plan, rules[0]?.status === 'ok', upstreamUdp);
  print(dns);
  all.push(...dns);
  const inbounds = await socksInboundFindings(config.inbounds.socks, settings);
  print(inbounds);
  all.push(...inbounds);
  return !failed(all);
}

export const doctorModule: CommandModule = {
  command: 'doctor',
  describe: 'Check this machine and the upstreams for what socksgate needs, one line per check; exits 1 when something is wrong',
  builder: (yargs: Argv) =>
    withRulesOptions(withConfigOptions(yargs))
      .option('udp-echo', { type: 'string', describe: 'A UDP echo server, HOST:PORT: send a real datagram to it through each upstream\'s UDP relay' })
      .option('target', { type: 'string', array: true, describe: 'CONNECT to this HOST:PORT through each upstream, repeatable; an [IPv6]:PORT target checks IPv6' })
      .option('timeout', { type: 'number', default: 5_000, describe: 'Milliseconds to wait for each network check' }),
  handler: async (args) => {
    let config: Config;
    try {
      config = configFromArgs(args as never);
      for (const text of [args.udpEcho, ...((args.target as string[] | undefined) ?? [])]) if (typeof text === 'string') parseHostPort(text);
    } catch (err) {
      if (err instanceof RangeError) {
        process.stderr.write(`socksgate doctor: ${err.message}\n`);
        process.exit(2);
      }
      exitOnConfigError(err);
    }
    const healthy = await doctor(config, args as unknown as DoctorArgs);
    process.stdout.write(healthy ? 'socksgate doctor: nothing is broken (see any warn lines)\n' : 'socksgate doctor: something is wrong (see the FAIL lines)\n');
    process.exit(healthy ? 0 : 1);
  },
};
