/** Processes of the lab: spawned in a namespace (`ip netns exec`), each in its own process group. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { ExecOptions, ExecResult, LabProcess, LabSpawnOptions } from './types.js';

const LOG_TAIL = 8192;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function quoteArgs(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or null if the process is gone. */
export function procStartTime(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** Run a command in the root namespace (only `ip netns add/del`, `ip -n X ...`). */
export function run(cmd: string, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input !== undefined ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${quoteArgs([cmd, ...args])}: exit ${code}: ${err.trim()}`)),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Starts a long-running process in namespace `nsName`; stdout+stderr are copied to `logPath`. */
export function spawnIn(nsName: string, cmd: string, args: readonly string[], opts: LabSpawnOptions, label: string, logPath: string): LabProcess {
  const log = fs.createWriteStream(logPath, { flags: 'a' });
  log.on('error', () => {});
  log.write(`# ${new Date().toISOString()} [${nsName}] ${quoteArgs([cmd, ...args])}\n`);
  const child = spawn('ip', ['netns', 'exec', nsName, cmd, ...args], {
    detached: true, // own process group: kill(-pid) reaches its children
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  let tail = '';
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-LOG_TAIL);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exitedResolve!: () => void;
  const exitedP = new Promise<void>((r) => (exitedResolve = r));
  const proc = Object.assign(child, {
    logPath,
    label,
    output: () => tail,
    exited: () => exitedP,
  }) as LabProcess;
  child.on('error', (err) => {
    onData(Buffer.from(`spawn error: ${err.message}\n`));
    exitedResolve();
  });
  child.on('exit', (code, signal) => {
    // don't remove from `procs` yet: descendants may still hold the process group
    log.write(`# exited code=${code} signal=${signal}\n`);
  });
  // exited() resolves once the log file holds everything the process wrote (read back by tests)
  child.on('close', () => log.end(() => exitedResolve()));
  return proc;
}

/** Runs a command in namespace `nsName` and collects its output; it is in `procs` while it runs. */
export async function execIn(nsName: string, cmd: string, args: readonly string[], opts: ExecOptions, procs: Set<LabProcess>): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawn('ip', ['netns', 'exec', nsName, cmd, ...args], {
    detached: true,
    stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const holder = Object.assign(child, {
    logPath: '',
    label: cmd,
    output: () => '',
    exited: () => Promise.resolve(),
  }) as LabProcess;
  procs.add(holder);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, 'SIGKILL');
  }, timeoutMs);
  const onAbort = () => killGroup(child.pid, 'SIGKILL');
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await new Promise<ExecResult>((resolve) => {
    let spawnErr: Error | null = null;
    child.on('error', (e) => {
      spawnErr = e;
    });
    child.on('close', (code, signal) => {
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (spawnErr ? `\nspawn error: ${spawnErr.message}` : ''),
        code: code ?? -1,
        signal,
        timedOut,
      });
    });
  });
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);
  procs.delete(holder);
  if (!opts.allowFail && (result.code !== 0 || result.timedOut)) {
    const what = result.timedOut ? `timed out after ${timeoutMs} ms` : result.signal ? `killed by ${result.signal}` : `exit ${result.code}`;
    const e = new Error(
      `[${nsName}] ${quoteArgs([cmd, ...args])}: ${what}\n--- stdout ---\n${result.stdout.slice(-4000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`,
    );
    Object.assign(e, result);
    throw e;
  }
  return result;
}
