import type { Socket } from 'node:net';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import type { Flow } from '../core/flow.js';
import { LoopGuard } from '../inbound/loop-guard.js';
import type { TcpInboundDeps } from '../inbound/tcp-inbound.js';
import { raiseFileLimit } from '../native/index.js';
import { createLogger, type Logger } from '../core/log.js';
import { releaseMemoryAfterBursts } from '../relay/memory-after-bursts.js';
import { Sessions } from '../relay/sessions.js';
import { relayTcpSpliced } from '../relay/splice-relay.js';
import { relayTcp } from '../relay/tcp-relay.js';
import { runTcpSession } from '../relay/tcp-session.js';
import { sniffClientHost, takeClientFirstBytes } from '../relay/sniff-client.js';
import { dnsUdpDialer, startDnsService } from './dns-service.js';
import { configFromArgs, exitOnConfigError, hideSecretsFromPs, withConfigOptions } from './options.js';
import { daemonRules, RUN_RULES, type DaemonRules } from './run-rules.js';
import { withRulesOptions } from './rules-options.js';
import { startUdpService } from './run-udp.js';
import { LiveOutbounds } from './live-outbounds.js';
import { withObserveOptions, type ObserveArgs } from './observe-options.js';
import { TcpListeners } from './run-listeners.js';
import { createObservation, type Observation } from './run-observe.js';
import { createOutbounds, reloadOnSighup, type DaemonState } from './run-reload.js';
import { runPrimary } from './run-primary.js';
import { reportReady, workerNumber } from './run-workers.js';

async function startDaemon(config: Config, log: Logger, rules: DaemonRules, observe: Observation): Promise<{ stop: () => Promise<void>; state: DaemonState }> {
  const outbounds = new LiveOutbounds(createOutbounds(config, observe, log));
  const sessions = new Sessions();
  // DNS goes through the first upstream, like every flow until rule-based routing lands.
  const dnsLog = log.child({ component: 'dns' });
  const dns = await startDnsService(config.dns, outbounds.first, dnsLog, observe.dnsAttempt, () => dnsUdpDialer(config, dnsLog));
  const fakeIp = dns.fakeIp;
  const session = {
    pickOutbound: (flow: Flow) => outbounds.pick(flow),
    mapDestination: fakeIp && ((dst: SocksAddr) => fakeIp.mapDestination(dst)),
    sniff: config.sniff.enabled ? (client: Socket) => sniffClientHost(client, config.sniff.timeout_ms) : undefined,
    takeFirstBytes: config.optimistic_data.enabled ? (client: Socket) => takeClientFirstBytes(client, config.optimistic_data.wait_ms) : undefined,
    idleMs: config.timeouts.idle_s * 1000,
    relay: config.relay === 'splice' ? relayTcpSpliced : relayTcp,
    native: config.relay === 'splice',
    sessions,
    log,
    observer: observe.flows,
  };
  const deps: TcpInboundDeps = {
    guard: new LoopGuard([...config.redirect, ...config.tproxy], outbounds.all.map((o) => o.server)),
    log,
    onFlow: (flow, client) => void runTcpSession(flow, client, session),
  };
  const listeners = new TcpListeners({ ...deps, reusePort: config.workers > 1 });
  listeners.update(config);
  const startUdp = (next: Config) => startUdpService(next, deps.guard, log, session.mapDestination);
  const state: DaemonState = { config, outbounds, listeners, guard: deps.guard, session, udp: startUdp(config), startUdp, rules, observe, log };
  for (const outbound of outbounds.all) outbound.start();
  const memory = releaseMemoryAfterBursts(sessions);
  await observe.serve({ outbounds: () => outbounds.all, udp: () => state.udp, dns: () => dns.resolver });

  const stop = async () => {
    memory.stop();
    listeners.close();
    observe.close();
    await dns.stop();
    state.udp?.stop();
    const { drain_ms } = state.config.timeouts;
    log.info({ flows: sessions.size, deadlineMs: drain_ms }, 'stopping: no new connections, draining flows');
    const cut = await sessions.drain(drain_ms);
    log.info({ cut }, 'stopped');
  };
  return { stop, state };
}

async function runCommand(args: ArgumentsCamelCase<Parameters<typeof configFromArgs>[0]>): Promise<void> {
  hideSecretsFromPs(process.argv.slice(2));
  let config: Config;
  try {
    config = configFromArgs(args);
  } catch (err) {
    exitOnConfigError(err);
  }
  const log = createLogger(config.log);
  // With --workers N the primary owns the rules; worker 1 alone has DNS, metrics and control.
  const worker = workerNumber();
  if (worker > 1) config = { ...config, dns: { ...config.dns, listen: undefined } };
  let rules: DaemonRules;
  let observe: Observation;
  try {
    rules = daemonRules(worker > 0 ? 'off' : (args as { rules?: string }).rules, config, log);
    if (config.workers > 1 && worker === 0) {
      runPrimary(config, log, rules, () => configFromArgs(args));
      return;
    }
    observe = createObservation(worker > 1 ? { control: 'off' } : (args as ObserveArgs), log);
  } catch (err) {
    exitOnConfigError(err);
  }
  const files = raiseFileLimit();
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon(config, log, rules, observe);
    rules.install();
  } catch (err) {
    log.fatal({ reason: errorCode(err) }, `cannot start: ${errorMessage(err)}`);
    process.exit(1);
  }
  log.info(
    { upstreams: config.upstreams.map((u) => u.name), redirect: config.redirect.map(formatAddr), tproxy: config.tproxy.map(formatAddr), mark: config.mark, fileLimit: files, ...(worker ? { worker } : {}) },
    worker ? 'worker running' : 'socksgate running',
  );
  reloadOnSighup(() => configFromArgs(args), daemon.state);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    rules.remove();
    void daemon.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A worker whose primary is gone (even SIGKILLed) drains and exits.
  if (worker) process.on('disconnect', () => stopping || onSignal('SIGTERM'));
  // Only now: the primary may pass SIGHUP on as soon as it hears this.
  reportReady();
}

export const runModule: CommandModule = {
  command: 'run',
  describe: 'Run the daemon: accept diverted connections and carry them through the upstream proxy',
  builder: (yargs: Argv) =>
    withObserveOptions(withRulesOptions(withConfigOptions(yargs))).option('rules', {
      type: 'string',
      choices: RUN_RULES,
      default: 'off',
      describe: 'auto: apply the firewall rules (see `socksgate rules`) once listening, flush them at exit',
    }),
  handler: (args) => runCommand(args as never),
};
