import { ConfigError } from './load.js';
import { redactUrl } from './upstream-url.js';

/**
 * Passwords typed on the command line: kept out of every process's argv (what `ps` and
 * /proc/PID/cmdline show), the daemon's and its workers'. /proc/PID/environ is readable only by
 * the same user and root, as with `?password_env=`, so a worker gets them there.
 */

/**
 * --upstream, -u, or a short-flag cluster ending in u (-cu): an array option, so yargs takes every
 * value up to the next flag. Its value may also be attached: --upstream=URL, -u=URL, or -uURL (not
 * an upstream to yargs, but one to whoever typed it).
 */
const UPSTREAM_OPTION = /^(--upstream=?|-[A-Za-z]*u=?)([^]*)$/;

/**
 * argv with the user info of every upstream URL replaced: the values of --upstream/-u in each
 * spelling (even without a scheme), and any other argument holding "scheme://user:pass@" (up to
 * `--`, and in the command after it too).
 */
export function redactArgv(argv: readonly string[]): string[] {
  let upstreamValues = false;
  let commandStarted = false;
  return argv.map((arg) => {
    if (!commandStarted) {
      if (arg === '--') {
        commandStarted = true;
        return arg;
      }
      if (upstreamValues && !arg.startsWith('-')) return redactUrl(arg);
      const option = UPSTREAM_OPTION.exec(arg);
      upstreamValues = option !== null;
      if (option?.[2]) return option[1] + redactUrl(option[2]);
    }
    return arg.includes('://') ? redactUrl(arg) : arg;
  });
}

/** Set in a worker's environment: the --upstream values as typed, JSON, for a worker forked with a redacted argv. */
export const WORKER_UPSTREAMS_ENV = 'SOCKSGATE_WORKER_UPSTREAMS';

/** Primary side: the environment a worker needs besides `redactArgv(argv)`. */
export function workerSecretsEnv(upstream: readonly string[] | undefined): Record<string, string> {
  return upstream?.length ? { [WORKER_UPSTREAMS_ENV]: JSON.stringify(upstream) } : {};
}

/**
 * Worker side: the --upstream values with their passwords, in place of the redacted ones yargs
 * parsed from its argv. Each must redact to the value it replaces, so a stale or foreign variable
 * is a ConfigError rather than a different upstream.
 */
export function restoreWorkerUpstreams(parsed: readonly string[] | undefined, env: NodeJS.ProcessEnv): string[] | undefined {
  const text = env[WORKER_UPSTREAMS_ENV];
  if (text === undefined) return parsed && [...parsed];
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch {
    values = undefined;
  }
  const matches =
    Array.isArray(values) && values.length === (parsed?.length ?? 0) && values.every((v, i) => typeof v === 'string' && redactUrl(v) === parsed?.[i]);
  if (!matches) throw new ConfigError([{ path: 'upstreams', message: `${WORKER_UPSTREAMS_ENV} does not match this worker's --upstream flags` }]);
  return values as string[];
}
