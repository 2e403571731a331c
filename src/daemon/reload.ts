import { ConfigError, type Config } from '../config/load.js';
import { deepFreeze } from '../config/deep-freeze.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { LoopGuard } from '../inbound/loop-guard.js';
import { createLogger, type Logger } from '../core/log.js';
import { DirectOutbound, type DirectResolve } from '../outbound/direct.js';
import { addGroups, buildOutbounds, outboundSettings, type OutboundRegistry, type RegistryDeps } from '../outbound/registry.js';
import { rejectOutbound } from '../outbound/reject.js';
import { compileRoute, type CompiledRoute } from '../route/compile.js';
import type { FlowRouter } from '../route/router.js';
import { createUdpCounters, type UdpCounters } from '../adapter/udp-counters.js';
import type { Observation } from './observation.js';
import type { TcpListeners } from './listeners.js';
import { guardedListeners } from './guarded-listeners.js';
import type { SocksListeners } from './socks-listeners.js';
import type { DaemonRules } from './rules.js';
import type { UdpService } from './udp.js';

/** The parts of a running daemon a reload may swap. */
export interface DaemonState {
  config: Config;
  readonly router: FlowRouter;
  readonly udpCounters: UdpCounters;
  readonly listeners: TcpListeners;
  /** The proxy inbound's listeners (inbounds.socks). */
  readonly socks: SocksListeners;
  readonly guard: LoopGuard;
  /** The per-flow settings new TCP flows read. */
  readonly session: { idleMs: number };
  udp: UdpService | undefined;
  readonly startUdp: (config: Config) => UdpService | undefined;
  readonly rules: DaemonRules;
  readonly observe: Observation;
  readonly log: Logger;
  /** How direct flows resolve names (split DNS when there is a DNS listener, else the system). */
  readonly directResolve: DirectResolve;
}

/** Sections that need a restart: the DNS server owns the fake-IP pools live flows map through. */
const RESTART_ONLY = ['dns', 'sniff', 'optimistic_data', 'relay', 'log.format'] as const;

/** The outbounds of a config and its compiled route. */
export interface Routing {
  readonly registry: OutboundRegistry;
  readonly route: CompiledRoute;
}

/**
 * Builds the named outbounds (or keeps `current` ones) and compiles the route over them, list files
 * included. Throws ConfigError (naming `file:line` for a bad list) before anything changed.
 */
export function createRouting(config: Config, deps: RegistryDeps & { readonly directResolve?: DirectResolve }, current?: OutboundRegistry): Routing {
  const registry = current ?? buildOutbounds(config, deps);
  const direct = new DirectOutbound(outboundSettings(config, deps.udpCounters), deps.directResolve);
  const route = compileRoute(config.route, { upstream: (name) => registry.byName.get(name), direct, reject: rejectOutbound }, registry.upstreams[0]);
  return { registry, route };
}

/**
 * The routing of `config` as the daemon builds it (list files read; ConfigError naming `file:line`
 * for a bad one), for commands that only look at it: nothing is started, dialed or logged.
 */
export function inspectRouting(config: Config): Routing {
  return createRouting(config, { udpCounters: createUdpCounters(), log: createLogger({ level: 'silent', format: 'json' }) });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Top-level keys (and log.*) whose values differ; upstream secrets are compared, never logged. */
export function changedKeys(old: Config, next: Config): string[] {
  const keys = new Set([...Object.keys(old), ...Object.keys(next)]);
  keys.delete('log');
  const changed = [...keys].filter((key) => !sameJson(old[key as keyof Config], next[key as keyof Config]));
  if (old.log.level !== next.log.level) changed.push('log.level');
  if (old.log.format !== next.log.format) changed.push('log.format');
  return changed.sort();
}

function udpNeedsRestart(changed: readonly string[]): boolean {
  return changed.some((key) => ['upstreams', 'chains', 'tproxy', 'udp', 'mark', 'timeouts'].includes(key));
}

/**
 * Applies `next` to the running daemon. Established flows are never touched: they hold their own
 * sockets. Order matters: everything that can fail (rules plan, new listeners, rules) goes first,
 * so a failure leaves the old config serving; the outbound swap that cannot fail goes last.
 */
export async function reloadDaemon(state: DaemonState, next: Config): Promise<void> {
  const { log } = state;
  const old = state.config;
  const changed = changedKeys(old, next);
  const newOutbounds = changed.some((key) => ['upstreams', 'chains', 'mark', 'timeouts', 'udp'].includes(key));
  const newGroups = newOutbounds || changed.some((key) => ['groups', 'health'].includes(key));
  const current = state.router.registry;
  // Lists may have changed even when the config did not: the route is compiled on every reload, first.
  // Changed groups only: the upstreams (and their pipelining knowledge) stay, the groups are rebuilt
  // (a member that stays in its group keeps its health).
  const deps = { udpCounters: state.udpCounters, log, onHandshake: state.observe.handshake };
  const registry = newOutbounds ? undefined : newGroups ? addGroups(next, current.upstreams, { ...deps, settings: outboundSettings(next, state.udpCounters) }, current.groups) : current;
  const routing = createRouting(next, { ...deps, directResolve: state.directResolve }, registry);
  if (changed.length === 0) {
    state.router.swap(routing.registry, routing.route);
    log.info({ routeRules: routing.route.size }, 'reload: config unchanged');
    return;
  }
  const ignored = RESTART_ONLY.filter((key) => changed.includes(key));
  const effective: Config = deepFreeze({ ...next, dns: old.dns, sniff: old.sniff, optimistic_data: old.optimistic_data, relay: old.relay, log: { ...next.log, format: old.log.format } });

  const listeners = state.listeners.update(effective);
  let socks: ReturnType<SocksListeners['update']>;
  let rules: ReturnType<DaemonRules['update']>;
  try {
    socks = state.socks.update(effective);
  } catch (err) {
    state.listeners.update(old);
    throw err;
  }
  try {
    rules = state.rules.update(effective);
  } catch (err) {
    state.listeners.update(old);
    state.socks.update(old);
    throw err;
  }
  state.guard.replace(guardedListeners(effective), effective.upstreams.map((u) => u.server));
  state.router.swap(routing.registry, routing.route);
  // Live flows keep the member they are on: they hold its sockets (a UDP association, its old group).
  if (newGroups) for (const group of current.groups) group.stop();
  if (newOutbounds) for (const outbound of routing.registry.upstreams) outbound.start();
  if (newGroups) for (const group of routing.registry.groups) group.start();
  state.session.idleMs = effective.timeouts.idle_s * 1000;
  if (udpNeedsRestart(changed) && (old.tproxy.length || effective.tproxy.length)) {
    // Associations are per client address: the next datagram opens a new one through the new upstream.
    state.udp?.stop();
    state.udp = undefined;
    try {
      state.udp = state.startUdp(effective);
    } catch (err) {
      log.error({ reason: errorCode(err) }, `reload: UDP is not served: ${errorMessage(err)}`);
    }
  }
  log.level = effective.log.level;
  state.config = effective;
  log.info(
    { changed, upstreams: effective.upstreams.map((u) => u.name), previousUpstreams: old.upstreams.map((u) => u.name), listenersAdded: [...listeners.added, ...socks.added], listenersRemoved: [...listeners.removed, ...socks.removed], rules },
    `config reloaded: ${changed.join(', ')} changed; new flows use it, established flows run on`,
  );
  if (ignored.length) log.warn({ keys: ignored }, `reload: ${ignored.join(', ')} changed but take effect only after a restart`);
}

/** Logs why a reload was refused: each bad key with its dotted path. */
function logRejected(log: Logger, err: unknown): void {
  if (err instanceof ConfigError) {
    log.error({ reason: err.code, issues: err.issues }, `reload rejected, the old config stays: ${err.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
  } else {
    log.error({ reason: errorCode(err) }, `reload failed, the old config stays: ${errorMessage(err)}`);
  }
}

/** SIGHUP re-reads the config (same file, same flag overrides); reloads run one at a time. */
export function reloadOnSighup(load: () => Config, state: DaemonState): void {
  let running: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    running = running.then(async () => {
      state.log.info({ signal: 'SIGHUP' }, 'reloading the config');
      try {
        await reloadDaemon(state, load());
      } catch (err) {
        logRejected(state.log, err);
      }
    });
  });
}
