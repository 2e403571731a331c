import { formatAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { ConfigError, type Config } from '../config/load.js';
import { deepFreeze } from '../config/deep-freeze.js';
import { createLogger } from '../core/log.js';
import { raiseFileLimit } from '../native/index.js';
import { startDaemon, type Daemon } from './daemon.js';
import { createObservation, type ObserveSettings } from './observation.js';
import { runPrimary } from './primary.js';
import { reloadOnSighup } from './reload.js';
import { daemonRules } from './rules.js';
import { reportReady, workerNumber } from './workers.js';

export interface RunOptions {
  /** Reads the config (file and flags); called again on every SIGHUP. Throws ConfigError. */
  readonly loadConfig: () => Config;
  /** `--rules`: 'auto' installs the firewall rules once listening and removes them at exit. */
  readonly rules: string | undefined;
  readonly observe: ObserveSettings;
  /** Added to each worker's environment (the secrets its redacted argv lacks). */
  readonly workerEnv: Record<string, string>;
  /** Called with a ConfigError (or any error found before anything started); must not return. */
  readonly onConfigError: (err: unknown) => never;
}

/**
 * `socksgate run`: the daemon's whole life, from boot to the last drained flow. With --workers N
 * this process is the primary (it supervises and owns the rules); worker 1 alone has DNS, metrics
 * and the control socket.
 */
export async function runDaemon(opts: RunOptions): Promise<void> {
  let config: Config;
  try {
    config = opts.loadConfig();
  } catch (err) {
    opts.onConfigError(err);
  }
  const log = createLogger(config.log);
  const worker = workerNumber();
  if (worker > 1) config = deepFreeze({ ...config, dns: { ...config.dns, listen: undefined } });
  let rules: ReturnType<typeof daemonRules>;
  let observe: ReturnType<typeof createObservation>;
  try {
    rules = daemonRules(worker > 0 ? 'off' : opts.rules, config, log);
    if (config.workers > 1 && worker === 0) {
      runPrimary(config, log, rules, opts.loadConfig, opts.workerEnv);
      return;
    }
    observe = createObservation(worker > 1 ? {} : opts.observe, log);
  } catch (err) {
    opts.onConfigError(err);
  }
  const files = raiseFileLimit();
  let daemon: Daemon | undefined;
  let stopping = false;
  const stop = (running: Daemon) => {
    rules.remove();
    void running.stop().then(() => process.exit(0));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    if (daemon) stop(daemon);
  };
  // Handled from before the start: a signal's default action would kill the process in the middle
  // of installing the rules and leave them behind. Handled, it waits until the install (synchronous)
  // is over, and a signal that arrives while the daemon starts stops it once it has started.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    daemon = await startDaemon(config, log, rules, observe);
    // Before the install too: SIGHUP's default action would kill the process just like SIGTERM's.
    reloadOnSighup(opts.loadConfig, daemon.state);
    if (!stopping) rules.install();
  } catch (err) {
    // A route list that does not parse is a config error, found only now that the lists are read.
    if (err instanceof ConfigError) opts.onConfigError(err);
    log.fatal({ reason: errorCode(err) }, `cannot start: ${errorMessage(err)}`);
    process.exit(1);
  }
  if (stopping) return stop(daemon);
  log.info(
    { upstreams: config.upstreams.map((u) => u.name), redirect: config.redirect.map(formatAddr), tproxy: config.tproxy.map(formatAddr), socks: config.inbounds.socks.map((entry) => formatAddr(entry.listen)), mark: config.mark, fileLimit: files, ...(worker ? { worker } : {}) },
    worker ? 'worker running' : 'socksgate running',
  );
  // A worker whose primary is gone (even SIGKILLed) drains and exits.
  if (worker) process.on('disconnect', () => stopping || onSignal('SIGTERM'));
  // Only now: the primary may pass SIGHUP on as soon as it hears this.
  reportReady();
}
