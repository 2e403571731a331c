import type * as ChildProcesses from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from '../core/log.js';
import { redactArgv } from '../config/secret-args.js';

/** Set in a worker's environment to its number, 1..N; absent in a single process and in the primary. */
export const WORKER_ENV = 'SOCKSGATE_WORKER';
const READY = 'socksgate:ready';
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 10_000;
/** A worker that ran this long before dying restarts after the first backoff again. */
const STABLE_MS = 30_000;

/** This process's worker number, or 0 when it is not a worker. */
export function workerNumber(): number {
  const value = Number(process.env[WORKER_ENV] ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** Worker side: tell the primary this worker listens. */
export function reportReady(): void {
  process.send?.(READY);
}

export interface WorkerHooks {
  /** Every worker listens (once, at start-up). */
  ready(): void;
  /** A worker died before start-up completed: the primary gives up. */
  failed(): void;
  /** All workers exited after `stop`. */
  stopped(): void;
}

/**
 * `run --workers N`, primary side: forks the same command N times (each a whole daemon with
 * SO_REUSEPORT listeners), forwards signals, restarts a worker that dies unexpectedly.
 */
export class Workers {
  private readonly children = new Map<number, ChildProcesses.ChildProcess>();
  private readonly backoff = new Map<number, number>();
  private readonly ready = new Set<number>();
  private started = false;
  private stopping = false;

  constructor(
    private readonly count: number,
    private readonly log: Logger,
    private readonly hooks: WorkerHooks,
    /** Added to each worker's environment: the secrets its redacted argv lacks (see secret-args). */
    private readonly env: Record<string, string> = {},
  ) {}

  start(): void {
    for (let n = 1; n <= this.count; n++) this.fork(n);
  }

  /** Passes a signal on to every worker (SIGHUP: reload; SIGTERM/SIGINT: drain and exit). */
  signal(signal: NodeJS.Signals): void {
    if (signal !== 'SIGHUP') this.stopping = true;
    for (const child of this.children.values()) child.kill(signal);
    if (this.stopping && this.children.size === 0) this.hooks.stopped();
  }

  private fork(n: number): void {
    const argv1 = process.argv[1];
    if (argv1 === undefined) throw new Error('cannot fork a worker: no script path');
    // Own process group: a terminal's Ctrl-C reaches the primary only, which forwards it once.
    // No password in its argv, where `ps` would show it before the worker could hide it.
    const env = { ...process.env, ...this.env, [WORKER_ENV]: String(n) };
    // Required here, not imported: only a primary forks, and child_process costs ~5 ms of start-up.
    const { fork } = createRequire(import.meta.url)('node:child_process') as typeof ChildProcesses;
    const child = fork(argv1, redactArgv(process.argv.slice(2)), { env, stdio: 'inherit', detached: true });
    const bornAt = Date.now();
    this.children.set(n, child);
    child.on('message', (message) => {
      if (message !== READY) return;
      this.log.info({ worker: n, workerPid: child.pid }, 'worker listening');
      this.ready.add(n);
      if (!this.started && this.ready.size === this.count) {
        this.started = true;
        this.hooks.ready();
      }
    });
    child.on('exit', (code, signal) => {
      this.children.delete(n);
      if (this.stopping) {
        this.log.info({ worker: n, workerPid: child.pid, code, signal }, 'worker exited');
        if (this.children.size === 0) this.hooks.stopped();
        return;
      }
      if (!this.started) {
        this.log.fatal({ worker: n, workerPid: child.pid, code, signal }, 'worker exited during start-up');
        this.stopping = true;
        for (const other of this.children.values()) other.kill('SIGTERM');
        this.hooks.failed();
        return;
      }
      const previous = this.backoff.get(n);
      const delay = previous === undefined || Date.now() - bornAt > STABLE_MS ? FIRST_BACKOFF_MS : Math.min(previous * 2, MAX_BACKOFF_MS);
      this.backoff.set(n, delay);
      this.log.error({ worker: n, workerPid: child.pid, code, signal, restartInMs: delay }, 'worker exited unexpectedly: restarting it');
      setTimeout(() => {
        if (!this.stopping) this.fork(n);
      }, delay);
    });
  }
}
