import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { LAB_ADDR } from './constants.js';
import { listNetns, NAME_RE, nsNames, teardownSync } from './namespaces.js';
import { execIn, killGroup, sleep, spawnIn } from './process.js';
import { live } from './registry.js';
import type { ExecOptions, ExecResult, Lab, LabProcess, LabSpawnOptions, NsRef, NsRole } from './types.js';

/** A lab's namespaces and the processes it started in them; built by createLab(). */
export class LabImpl implements Lab {
  readonly addr = LAB_ADDR;
  readonly ns: Readonly<Record<NsRole, string>>;
  private readonly procs = new Set<LabProcess>();
  private readonly logCounts = new Map<string, number>();
  private destroying: Promise<void> | null = null;
  private done = false;

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly ipv6: boolean,
  ) {
    this.ns = Object.freeze(nsNames(id));
  }

  private resolveNs(ns: NsRef): string {
    if (ns === 'client' || ns === 'proxy' || ns === 'internet') return this.ns[ns];
    if (ns === this.ns.client || ns === this.ns.proxy || ns === this.ns.internet) return ns;
    throw new Error(`lab ${this.id}: unknown namespace ${ns}`);
  }

  resolvConfPath(ns: NsRef): string {
    return path.join('/etc/netns', this.resolveNs(ns), 'resolv.conf');
  }

  private logPathFor(label: string): string {
    const safe = label.replace(/[^\w.-]/g, '_');
    const n = (this.logCounts.get(safe) ?? 0) + 1;
    this.logCounts.set(safe, n);
    return path.join(this.dir, n === 1 ? `${safe}.log` : `${safe}.${n}.log`);
  }

  spawn(ns: NsRef, cmd: string, args: readonly string[] = [], opts: LabSpawnOptions = {}): LabProcess {
    if (this.destroying) throw new Error(`lab ${this.id} is destroyed`);
    const nsName = this.resolveNs(ns);
    const label = opts.name ?? path.basename(cmd);
    const logPath = this.logPathFor(label);
    const proc = spawnIn(nsName, cmd, args, opts, label, logPath);
    this.procs.add(proc);
    return proc;
  }

  async exec(ns: NsRef, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.destroying) throw new Error(`lab ${this.id} is destroyed`);
    const nsName = this.resolveNs(ns);
    return execIn(nsName, cmd, args, opts, this.procs);
  }

  async waitForPort(ns: NsRef, host: string, port: number, timeoutMs = 10_000, proc?: LabProcess): Promise<void> {
    // One bash per call polls with /dev/tcp (no extra tools needed); bounded by the exec timeout.
    const tries = Math.max(1, Math.ceil(timeoutMs / 50));
    const script =
      'h=$1; p=$2; n=$3; i=0; while [ $i -lt $n ]; do ' +
      '(exec 3<>"/dev/tcp/$h/$p") 2>/dev/null && exit 0; i=$((i+1)); sleep 0.05; done; exit 1';
    const abort = new AbortController();
    const probe = this.exec(ns, 'bash', ['-c', script, 'probe', host, String(port), String(tries)], {
      allowFail: true,
      timeoutMs: timeoutMs + 1000,
      signal: abort.signal,
    });
    const races: Promise<'ok' | 'timeout' | 'exited'>[] = [probe.then((r) => (r.code === 0 ? 'ok' : 'timeout'))];
    if (proc) races.push(proc.exited().then(() => 'exited' as const));
    const outcome = await Promise.race(races);
    abort.abort();
    await probe.catch(() => {});
    if (outcome === 'ok') return;
    const where = `${host}:${port} in ${this.resolveNs(ns)}`;
    if (outcome === 'exited') {
      throw new Error(
        `${proc!.label} exited (code=${proc!.exitCode} signal=${proc!.signalCode}) before ${where} accepted connections\n--- output (${proc!.logPath}) ---\n${proc!.output()}`,
      );
    }
    throw new Error(
      `timeout after ${timeoutMs} ms waiting for ${where}` + (proc ? `\n--- ${proc.label} output (${proc.logPath}) ---\n${proc.output()}` : ''),
    );
  }

  async kill(proc: ChildProcess, graceMs = 2000): Promise<void> {
    const p = proc as LabProcess;
    const exited = typeof p.exited === 'function' ? p.exited() : new Promise<void>((r) => proc.once('close', () => r()));
    if (proc.exitCode === null && proc.signalCode === null) killGroup(proc.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), graceMs);
    await Promise.race([exited, sleep(graceMs + 2000)]);
    clearTimeout(timer);
    killGroup(proc.pid, 'SIGKILL'); // stragglers in the group
    this.procs.delete(p);
  }

  destroy(): Promise<void> {
    if (!this.destroying) {
      this.destroying = (async () => {
        try {
          await Promise.all([...this.procs].map((p) => this.kill(p, 1500).catch(() => {})));
        } catch {
          /* ignore */
        }
        this.destroySync();
      })().catch(() => {});
    }
    return this.destroying;
  }

  /** Synchronous, idempotent teardown (also used from the process 'exit' hook). */
  destroySync(): void {
    if (this.done) return;
    this.done = true;
    for (const p of this.procs) killGroup(p.pid, 'SIGKILL');
    this.procs.clear();
    try {
      const added = listNetns().filter((name) => NAME_RE.exec(name)?.[1] === this.id);
      teardownSync([...new Set([...Object.values(this.ns), ...added])], this.dir);
    } catch {
      /* never throw */
    }
    live.delete(this.id);
  }
}
