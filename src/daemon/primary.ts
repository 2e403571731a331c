import { ErrorCode, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../core/log.js';
import type { DaemonRules } from './rules.js';
import { Workers } from './workers.js';

/**
 * `run --workers N`: this process only supervises. It applies `--rules auto` once every worker
 * listens, flushes them at exit, re-plans them on SIGHUP, and passes signals on. The workers serve;
 * DNS, metrics and the control socket live in worker 1 (the other workers start none of them).
 */
export function runPrimary(config: Config, log: Logger, rules: DaemonRules, reread: () => Config, workerEnv: Record<string, string>): void {
  let stopping = false;
  const workers = new Workers(config.workers, log, {
    ready() {
      // Told to stop before every worker listened: the rules would only go in to come out again.
      if (stopping) return;
      try {
        rules.install();
      } catch (err) {
        log.fatal({ reason: ErrorCode.FIREWALL }, `cannot start: ${errorMessage(err)}`);
        workers.signal('SIGTERM');
        process.exitCode = 1;
        return;
      }
      log.info({ workers: config.workers, upstreams: config.upstreams.map((u) => u.name) }, 'socksgate running');
    },
    failed() {
      rules.remove();
      process.exit(1);
    },
    stopped() {
      rules.remove();
      process.exit(process.exitCode ?? 0);
    },
  }, workerEnv);
  workers.start();
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading the config in every worker');
    try {
      rules.update(reread());
    } catch (err) {
      log.error({ reason: ErrorCode.CONFIG }, `reload: rules kept: ${errorMessage(err)}`);
    }
    workers.signal('SIGHUP');
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: workers told to exit now');
    }
    stopping = true;
    log.info({ signal }, 'signal received: stopping the workers');
    rules.remove();
    workers.signal(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
