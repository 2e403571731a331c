import type { ChildProcess } from 'node:child_process';
import type { LabAddrs } from './constants.js';

export type NsRole = 'client' | 'proxy' | 'internet';
/** A namespace: its role in the lab or its actual name (lab.ns.client, ...). */
export type NsRef = NsRole | string;

export interface ExecOptions {
  /** Do not throw on a nonzero exit status / timeout / signal. */
  allowFail?: boolean;
  /** Kill (SIGKILL, the whole process group) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Aborting kills the command (SIGKILL to its process group); it then counts as failed. */
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; -1 when killed by a signal or the timeout. */
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

export interface LabSpawnOptions {
  /** Label for the log file `<lab.dir>/<name>.log` (default: the command's basename). */
  name?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'pipe' to write to child.stdin; default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
}

/** A spawned process: stdout+stderr are copied to `logPath`; `output()` is the last 8 KiB. */
export type LabProcess = ChildProcess & {
  readonly logPath: string;
  readonly label: string;
  output(): string;
  /** Resolves when the process has exited (immediately if it already has). */
  exited(): Promise<void>;
};

export interface Lab {
  readonly id: string;
  readonly ns: Readonly<Record<NsRole, string>>;
  readonly addr: LabAddrs;
  readonly ipv6: boolean;
  /** Temp dir for configs, logs and data; removed by destroy(). */
  readonly dir: string;
  /** Run a command in a namespace and collect its output. Throws on failure unless allowFail. */
  exec(ns: NsRef, cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Start a long-running process in a namespace, tracked for cleanup. */
  spawn(ns: NsRef, cmd: string, args?: readonly string[], opts?: LabSpawnOptions): LabProcess;
  /**
   * Wait (bounded) until host:port accepts a TCP connection from inside `ns`. With `proc`, fail
   * fast (with its output) if that process exits first.
   */
  waitForPort(ns: NsRef, host: string, port: number, timeoutMs?: number, proc?: LabProcess): Promise<void>;
  /** SIGTERM the process group, SIGKILL after graceMs (default 2 s). */
  kill(proc: ChildProcess, graceMs?: number): Promise<void>;
  /** Path of /etc/netns/<ns>/resolv.conf (rewrite it to point a namespace at a lab DNS server). */
  resolvConfPath(ns: NsRef): string;
  /** Kill everything, delete namespaces and files. Idempotent, never throws. */
  destroy(): Promise<void>;
}

export interface CreateLabOptions {
  /** Global IPv6 addresses and routes (2001:db8:...). Default false. */
  ipv6?: boolean;
}
