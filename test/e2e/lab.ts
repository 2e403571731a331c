/**
 * e2e lab: three network namespaces joined by veth pairs, plus starters for the real servers the
 * e2e tests talk to (nginx, echo, Dante, microsocks, ssh -D, tinyproxy).
 *
 *   client (192.0.2.2) ⇄ proxy (192.0.2.1 | 198.51.100.1) ⇄ internet (198.51.100.2, lo: 203.0.113.10)
 *          2001:db8:1::2   2001:db8:1::1 | 2001:db8:2::1     2001:db8:2::2,  lo: 2001:db8:3::10
 *
 * - The client has routes to 198.51.100.0/24, 203.0.113.0/24 (and 2001:db8:2::/64, 2001:db8:3::/64)
 *   via the proxy, so an unmodified app's connect() has a route and the kernel can divert it.
 * - The proxy namespace does NOT forward (ip_forward=0, ipv6 forwarding=0) and the internet has no
 *   route back to 192.0.2.0/24: only traffic relayed by a proxy running in the proxy namespace
 *   (source 198.51.100.1) reaches the internet.
 * - Nothing touches the root namespace: veth pairs are created inside the namespaces, no rules or
 *   routes are added outside them. Names are `sg-<6 random chars>-{c,p,i}`.
 * - `ip netns exec` bind-mounts /etc/netns/<ns>/{resolv.conf,hosts} over /etc: each namespace gets
 *   its own (see LAB_HOSTS); the proxy and internet namespaces resolve the lab names, the client
 *   does not (its DNS must go through socksgate).
 * - Every spawned process runs in its own process group and is killed on destroy(); anything left
 *   in the namespaces (`ip netns pids`) is SIGKILLed before they are deleted. A process 'exit' /
 *   signal handler cleans up labs a crashing test left behind, and createLab() sweeps labs whose
 *   owner process died (SIGKILL) — identified by /tmp/sglab-<id>/owner.
 *
 * Needs root and the Debian packages of scripts/test-deps.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

export const LAB_ADDR = Object.freeze({
  client: '192.0.2.2',
  proxyClientSide: '192.0.2.1',
  proxyInternetSide: '198.51.100.1',
  internet: '198.51.100.2',
  /** On the internet namespace's lo; routed client → proxy → internet. */
  extraTarget: '203.0.113.10',
  client6: '2001:db8:1::2',
  proxyClientSide6: '2001:db8:1::1',
  proxyInternetSide6: '2001:db8:2::1',
  internet6: '2001:db8:2::2',
  /** On the internet namespace's lo (only with ipv6). */
  extraTarget6: '2001:db8:3::10',
  clientNet: '192.0.2.0/24',
  internetNet: '198.51.100.0/24',
  targetNet: '203.0.113.0/24',
  clientNet6: '2001:db8:1::/64',
  internetNet6: '2001:db8:2::/64',
  targetNet6: '2001:db8:3::/64',
});
export type LabAddrs = typeof LAB_ADDR;

/** Host names the proxy and internet namespaces resolve through their /etc/hosts (not the client). */
export const LAB_HOSTS = Object.freeze({
  web: 'web.lab.test', // 198.51.100.2 (+ 2001:db8:2::2 with ipv6)
  alt: 'alt.lab.test', // 203.0.113.10
  web4: 'web4.lab.test', // 198.51.100.2 only
  web6: 'web6.lab.test', // 2001:db8:2::2 only (ipv6 labs)
});

/** Interface names (per namespace, so they need not be unique across labs). */
export const LAB_IFACE = Object.freeze({
  clientToProxy: 'to-proxy', // in client
  proxyToClient: 'to-client', // in proxy
  proxyToInternet: 'to-inet', // in proxy
  internetToProxy: 'to-proxy', // in internet
});

/** The user scripts/test-deps creates; Dante's username method checks its system password. */
export const TEST_USER = 'sgtest';
export const TEST_PASS = 'sgpass-Lab1';

/** Content of nginx's /small.txt. */
export const SMALL_TXT = 'socksgate lab: small.txt\n';
export const BIG_SIZE = 10 * 1024 * 1024;

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** c/p/i: the lab's own namespaces; l: a LAN namespace a test adds behind the client (test/e2e/rules-lab.ts). */
const NAME_RE = /^sg-([a-z0-9]{6})-([cpil])$/;
const LOG_TAIL = 8192;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function quoteArgs(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(6);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or null if the process is gone. */
function procStartTime(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
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

function labDirFor(id: string): string {
  return path.join(os.tmpdir(), `sglab-${id}`);
}

function nsNames(id: string): Record<NsRole, string> {
  return { client: `sg-${id}-c`, proxy: `sg-${id}-p`, internet: `sg-${id}-i` };
}

function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Synchronous teardown of namespaces + files; used by destroy fallbacks, the exit hook and the sweeper. */
function teardownSync(names: readonly string[], dir: string | null): void {
  for (const ns of names) {
    const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    if (r.status === 0) {
      for (const p of r.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }
  for (const ns of names) {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    try {
      fs.rmSync(path.join('/etc/netns', ns), { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
  if (dir) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
}

/**
 * Remove labs (namespaces named sg-XXXXXX-{c,p,i}) whose owner process is dead, e.g. after a
 * SIGKILLed test run. Labs without an owner file are left alone. Returns the ids removed.
 */
export function sweepStaleLabs(): string[] {
  const byId = new Map<string, string[]>();
  for (const name of listNetns()) {
    const m = NAME_RE.exec(name);
    if (!m) continue;
    const list = byId.get(m[1]!) ?? [];
    list.push(name);
    byId.set(m[1]!, list);
  }
  const removed: string[] = [];
  for (const [id, names] of byId) {
    if (live.has(id)) continue;
    const dir = labDirFor(id);
    let owner: { pid: number; start: string } | null = null;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
    } catch {
      continue; // not ours to judge
    }
    if (!owner || typeof owner.pid !== 'number') continue;
    const start = procStartTime(owner.pid);
    if (start !== null && start === owner.start) continue; // owner alive
    teardownSync(names, dir);
    removed.push(id);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Registry + safety net
// ---------------------------------------------------------------------------------------------

const live = new Map<string, LabImpl>();
let hooksInstalled = false;

function cleanupAllSync(): void {
  for (const lab of [...live.values()]) lab.destroySync();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  const signals: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const [sig, num] of Object.entries(signals)) {
    process.once(sig as NodeJS.Signals, () => {
      cleanupAllSync();
      process.exit(128 + num);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The lab
// ---------------------------------------------------------------------------------------------

class LabImpl implements Lab {
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
    child.on('close', () => {
      log.end();
      exitedResolve();
    });
    this.procs.add(proc);
    return proc;
  }

  async exec(ns: NsRef, cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.destroying) throw new Error(`lab ${this.id} is destroyed`);
    const nsName = this.resolveNs(ns);
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
    this.procs.add(holder);
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
    this.procs.delete(holder);
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

  // --- setup -------------------------------------------------------------------------------

  async setup(): Promise<void> {
    const { client, proxy, internet } = this.ns;
    const A = LAB_ADDR;
    const all = [client, proxy, internet];

    // Per-namespace /etc files first: every later `ip netns exec` binds them.
    const v6 = this.ipv6;
    const localhost = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
    const labHosts =
      `${A.internet}\t${LAB_HOSTS.web} ${LAB_HOSTS.web4}\n${A.extraTarget}\t${LAB_HOSTS.alt}\n` +
      (v6 ? `${A.internet6}\t${LAB_HOSTS.web} ${LAB_HOSTS.web6}\n` : '');
    const files: Record<string, { resolv: string; hosts: string }> = {
      [client]: { resolv: A.proxyClientSide, hosts: localhost },
      [proxy]: { resolv: A.internet, hosts: localhost + labHosts },
      [internet]: { resolv: '127.0.0.1', hosts: localhost + labHosts },
    };
    for (const ns of all) {
      const d = path.join('/etc/netns', ns);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(
        path.join(d, 'resolv.conf'),
        `# socksgate e2e lab ${this.id}\nnameserver ${files[ns]!.resolv}\noptions timeout:1 attempts:1\n`,
      );
      fs.writeFileSync(path.join(d, 'hosts'), files[ns]!.hosts);
    }

    await Promise.all(all.map((ns) => run('ip', ['netns', 'add', ns])));

    const sysctls = [
      'net.ipv4.ip_forward=0',
      'net.ipv6.conf.all.forwarding=0',
      'net.ipv4.tcp_tw_reuse=1',
      'net.ipv4.ip_local_port_range=10000 65000',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.all.accept_ra=0',
      'net.ipv6.conf.default.accept_ra=0',
    ];
    await Promise.all(all.map((ns) => this.exec(ns, 'sysctl', ['-q', '-w', ...sysctls])));

    // veth pairs created inside the namespaces: never a device in the root namespace
    await run('ip', ['-n', client, 'link', 'add', LAB_IFACE.clientToProxy, 'type', 'veth', 'peer', 'name', LAB_IFACE.proxyToClient, 'netns', proxy]);
    await run('ip', ['-n', proxy, 'link', 'add', LAB_IFACE.proxyToInternet, 'type', 'veth', 'peer', 'name', LAB_IFACE.internetToProxy, 'netns', internet]);

    const c: string[] = [
      'link set lo up',
      `link set ${LAB_IFACE.clientToProxy} up`,
      `addr add ${A.client}/24 dev ${LAB_IFACE.clientToProxy}`,
      `route add ${A.internetNet} via ${A.proxyClientSide}`,
      `route add ${A.targetNet} via ${A.proxyClientSide}`,
    ];
    const p: string[] = [
      'link set lo up',
      `link set ${LAB_IFACE.proxyToClient} up`,
      `link set ${LAB_IFACE.proxyToInternet} up`,
      `addr add ${A.proxyClientSide}/24 dev ${LAB_IFACE.proxyToClient}`,
      `addr add ${A.proxyInternetSide}/24 dev ${LAB_IFACE.proxyToInternet}`,
      `route add ${A.targetNet} via ${A.internet}`,
    ];
    const i: string[] = [
      'link set lo up',
      `link set ${LAB_IFACE.internetToProxy} up`,
      `addr add ${A.internet}/24 dev ${LAB_IFACE.internetToProxy}`,
      `addr add ${A.extraTarget}/32 dev lo`,
    ];
    if (v6) {
      c.push(
        `addr add ${A.client6}/64 dev ${LAB_IFACE.clientToProxy} nodad`,
        `route add ${A.internetNet6} via ${A.proxyClientSide6}`,
        `route add ${A.targetNet6} via ${A.proxyClientSide6}`,
      );
      p.push(
        `addr add ${A.proxyClientSide6}/64 dev ${LAB_IFACE.proxyToClient} nodad`,
        `addr add ${A.proxyInternetSide6}/64 dev ${LAB_IFACE.proxyToInternet} nodad`,
        `route add ${A.targetNet6} via ${A.internet6}`,
      );
      i.push(
        `addr add ${A.internet6}/64 dev ${LAB_IFACE.internetToProxy} nodad`,
        `addr add ${A.extraTarget6}/128 dev lo nodad`,
      );
    }
    await Promise.all([
      run('ip', ['-n', client, '-batch', '-'], c.join('\n') + '\n'),
      run('ip', ['-n', proxy, '-batch', '-'], p.join('\n') + '\n'),
      run('ip', ['-n', internet, '-batch', '-'], i.join('\n') + '\n'),
    ]);
  }
}

/** Run a command in the root namespace (only `ip netns add/del`, `ip -n X ...`). */
function run(cmd: string, args: readonly string[], input?: string): Promise<void> {
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

/** Build a fresh lab. Cleans up after itself if any step fails. */
export async function createLab(opts: CreateLabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('the e2e lab needs root (network namespaces)');
  installHooks();
  try {
    sweepStaleLabs();
  } catch {
    /* best effort */
  }
  const existing = new Set(listNetns());
  let id = '';
  let dir = '';
  for (let attempt = 0; ; attempt++) {
    id = randomId();
    dir = labDirFor(id);
    if (Object.values(nsNames(id)).some((n) => existing.has(n))) continue;
    try {
      fs.mkdirSync(dir, { mode: 0o755 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw e;
    }
  }
  fs.chmodSync(dir, 0o755); // sshd (as the login user) and Dante/tinyproxy children read files here
  fs.writeFileSync(path.join(dir, 'owner'), JSON.stringify({ pid: process.pid, start: procStartTime('self') }));
  const lab = new LabImpl(id, dir, opts.ipv6 ?? false);
  live.set(id, lab);
  try {
    await lab.setup();
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

/**
 * node:test helper: builds a lab in `before` and destroys it in `after` of the current suite (or
 * file). Returns an accessor for use inside tests.
 *
 *   const lab = useLab({ ipv6: true });
 *   test('x', async () => { await lab().exec('client', 'true') });
 */
export function useLab(opts: CreateLabOptions = {}): () => Lab {
  let lab: Lab | null = null;
  before(async () => {
    lab = await createLab(opts);
  });
  after(async () => {
    await lab?.destroy();
  });
  return () => {
    if (!lab) throw new Error('lab not created yet (use it inside a test)');
    return lab;
  };
}

// ---------------------------------------------------------------------------------------------
// Server starters
// ---------------------------------------------------------------------------------------------

async function started<T extends object>(lab: Lab, proc: LabProcess, ns: NsRef, endpoints: [string, number][], timeoutMs: number, handle: T): Promise<T & { proc: LabProcess; stop(): Promise<void> }> {
  try {
    for (const [host, port] of endpoints) await lab.waitForPort(ns, host, port, timeoutMs, proc);
  } catch (e) {
    await lab.kill(proc, 500);
    throw e;
  }
  return Object.assign(handle, { proc, stop: () => lab.kill(proc) });
}

export interface NginxHandle {
  port: number;
  proc: LabProcess;
  /** nginx access log: `$remote_addr $server_addr:$server_port "$request" $status $body_bytes_sent` per line. */
  accessLog: string;
  errorLog: string;
  /** Content of /small.txt. */
  smallText: string;
  /** /10mb.bin: size, sha256 (hex) and path on disk. */
  bigSize: number;
  bigSha256: string;
  bigPath: string;
  /** `http://<host>:<port><path>`, host defaults to 198.51.100.2 (IPv6 literal gets brackets). */
  url(pathname: string, host?: string): string;
  stop(): Promise<void>;
}

/**
 * nginx in the internet namespace listening on every address there (198.51.100.2, 203.0.113.10,
 * and [::] for 2001:db8:2::2 / 2001:db8:3::10): /small.txt, /10mb.bin, /ip (answers
 * "$remote_addr\n", the address the target saw).
 */
export async function startNginx(lab: Lab, opts: { port?: number; timeoutMs?: number } = {}): Promise<NginxHandle> {
  const port = opts.port ?? 80;
  const base = path.join(lab.dir, `nginx-${port}`);
  const www = path.join(base, 'www');
  const tmp = path.join(base, 'tmp');
  await fsp.mkdir(www, { recursive: true });
  await fsp.mkdir(tmp, { recursive: true });
  await fsp.writeFile(path.join(www, 'small.txt'), SMALL_TXT);
  const big = randomBytes(BIG_SIZE);
  const bigPath = path.join(www, '10mb.bin');
  await fsp.writeFile(bigPath, big);
  const bigSha256 = createHash('sha256').update(big).digest('hex');
  const accessLog = path.join(lab.dir, `nginx-${port}-access.log`);
  const errorLog = path.join(lab.dir, `nginx-${port}-error.log`);
  const conf = path.join(base, 'nginx.conf');
  await fsp.writeFile(
    conf,
    `# socksgate e2e lab
daemon off;
master_process on;
user root;
worker_processes 1;
pid ${base}/nginx.pid;
error_log ${errorLog} info;
events { worker_connections 1024; }
http {
  log_format sglab '$remote_addr $server_addr:$server_port "$request" $status $body_bytes_sent';
  access_log ${accessLog} sglab;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  types { text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 5;
  server {
    listen ${port} reuseport;
    listen [::]:${port} ipv6only=on reuseport;
    server_name _;
    root ${www};
    location = /ip { default_type text/plain; return 200 "$remote_addr\\n"; }
    location / { }
  }
}
`,
  );
  const proc = lab.spawn('internet', 'nginx', ['-e', errorLog, '-p', base, '-c', conf], { name: `nginx-${port}` });
  const endpoints: [string, number][] = [[LAB_ADDR.internet, port]];
  if (lab.ipv6) endpoints.push([LAB_ADDR.internet6, port]);
  const h = await started(lab, proc, 'internet', endpoints, opts.timeoutMs ?? 10_000, {
    port,
    accessLog,
    errorLog,
    smallText: SMALL_TXT,
    bigSize: BIG_SIZE,
    bigSha256,
    bigPath,
    url(pathname: string, host: string = LAB_ADDR.internet) {
      const h = host.includes(':') ? `[${host}]` : host;
      return `http://${h}${port === 80 ? '' : `:${port}`}${pathname}`;
    },
  });
  return h;
}

export interface EchoHandle {
  port: number;
  /** 'echo': echoes as it reads; 'eof': buffers until the client's FIN, then writes it all back and closes. */
  mode: 'echo' | 'eof';
  proc: LabProcess;
  stop(): Promise<void>;
}

/** TCP echo server (node, test/e2e/fixtures/echo-server.mjs) in the internet namespace on all addresses. */
export async function startEcho(lab: Lab, opts: { port: number; halfCloseEcho?: boolean; timeoutMs?: number }): Promise<EchoHandle> {
  const mode = opts.halfCloseEcho ? 'eof' : 'echo';
  const proc = lab.spawn('internet', process.execPath, [path.join(FIXTURES, 'echo-server.mjs'), '--port', String(opts.port), '--mode', mode], {
    name: `echo-${mode}-${opts.port}`,
  });
  return started(lab, proc, 'internet', [[LAB_ADDR.internet, opts.port]], opts.timeoutMs ?? 10_000, { port: opts.port, mode });
}

export interface SocksHandle {
  /** Listening address (client side of the proxy namespace) and port. */
  host: string;
  host6?: string;
  port: number;
  user?: string;
  pass?: string;
  proc: LabProcess;
  /** Server log (where the server writes one; else its stdout/stderr log). */
  log: string;
  stop(): Promise<void>;
}

export interface DanteOptions {
  port?: number;
  auth?: 'none' | 'userpass';
  /** CIDRs (v4 or v6) the server refuses to CONNECT to (SOCKS5 REP=2 "not allowed by ruleset"). */
  block?: string[];
  /**
   * Dante's `udp.connectdst` (default yes: it connects its outer UDP socket to the first
   * destination). With yes, an IPv6 association gets no replies from a second remote host.
   */
  udpConnectDst?: boolean;
  timeoutMs?: number;
}

/**
 * Dante (danted) in the proxy namespace on 192.0.2.1:<port> (and [2001:db8:1::1] with ipv6),
 * external 198.51.100.1 (+ 2001:db8:2::1). auth 'none' also serves SOCKS4/4a; 'userpass' is
 * RFC 1929 with sgtest / sgpass-Lab1 (system password, see scripts/test-deps).
 * The log shows each CONNECT: `pass(N): tcp/connect ]: 192.0.2.2.P 192.0.2.1.1080 -> 198.51.100.1.P 198.51.100.2.80`.
 */
export async function startDante(lab: Lab, opts: DanteOptions = {}): Promise<SocksHandle & { config: string; auth: 'none' | 'userpass' }> {
  const port = opts.port ?? 1080;
  const auth = opts.auth ?? 'none';
  const A = LAB_ADDR;
  const log = path.join(lab.dir, `danted-${port}-sockd.log`);
  const config = path.join(lab.dir, `danted-${port}.conf`);
  const lines = [
    '# socksgate e2e lab',
    `logoutput: ${log}`,
    `internal: ${A.proxyClientSide} port = ${port}`,
    ...(lab.ipv6 ? [`internal: ${A.proxyClientSide6} port = ${port}`] : []),
    `external: ${A.proxyInternetSide}`,
    ...(lab.ipv6 ? [`external: ${A.proxyInternetSide6}`] : []),
    'external.rotation: route',
    `socksmethod: ${auth === 'userpass' ? 'username' : 'none'}`,
    'clientmethod: none',
    'user.privileged: root',
    'user.unprivileged: nobody',
    'timeout.negotiate: 10',
    ...(opts.udpConnectDst === false ? ['udp.connectdst: no'] : []),
    'client pass { from: 0/0 to: 0/0 log: error }',
    ...(opts.block ?? []).map((cidr) => `socks block { from: 0/0 to: ${cidr} log: connect error }`),
    'socks pass { from: 0/0 to: 0/0 log: connect disconnect error }',
    '',
  ];
  await fsp.writeFile(config, lines.join('\n'));
  const pidFile = path.join(lab.dir, `danted-${port}.pid`);
  const proc = lab.spawn('proxy', 'danted', ['-f', config, '-p', pidFile, '-N', '1'], { name: `danted-${port}` });
  const endpoints: [string, number][] = [[A.proxyClientSide, port]];
  if (lab.ipv6) endpoints.push([A.proxyClientSide6, port]);
  return started(lab, proc, 'proxy', endpoints, opts.timeoutMs ?? 10_000, {
    host: A.proxyClientSide,
    ...(lab.ipv6 ? { host6: A.proxyClientSide6 } : {}),
    port,
    ...(auth === 'userpass' ? { user: TEST_USER, pass: TEST_PASS } : {}),
    log,
    config,
    auth,
  });
}

/** microsocks in the proxy namespace on 192.0.2.1:<port> (or `listen`), optional user/pass. */
export async function startMicrosocks(lab: Lab, opts: { port?: number; user?: string; pass?: string; listen?: string; timeoutMs?: number } = {}): Promise<SocksHandle> {
  const port = opts.port ?? 1081;
  const host = opts.listen ?? LAB_ADDR.proxyClientSide;
  const args = ['-i', host, '-p', String(port)];
  if (opts.user !== undefined || opts.pass !== undefined) {
    if (opts.user === undefined || opts.pass === undefined) throw new Error('microsocks: user and pass go together');
    args.push('-u', opts.user, '-P', opts.pass);
  }
  const proc = lab.spawn('proxy', 'microsocks', args, { name: `microsocks-${port}` });
  return started(lab, proc, 'proxy', [[host, port]], opts.timeoutMs ?? 10_000, {
    host,
    port,
    ...(opts.user !== undefined ? { user: opts.user, pass: opts.pass } : {}),
    log: proc.logPath,
  });
}

/**
 * v2ray's SOCKS inbound (no auth, UDP on) in the proxy namespace, with a freedom outbound. It
 * announces `ip` as its UDP relay address and answers a CONNECT with success before dialing.
 */
export async function startV2ray(lab: Lab, opts: { port?: number; timeoutMs?: number } = {}): Promise<SocksHandle & { config: string }> {
  const port = opts.port ?? 1083;
  const host = LAB_ADDR.proxyClientSide;
  const config = path.join(lab.dir, `v2ray-${port}.json`);
  const inbound = { listen: host, port, protocol: 'socks', settings: { auth: 'noauth', udp: true, ip: host } };
  await fsp.writeFile(config, JSON.stringify({ log: { loglevel: 'warning' }, inbounds: [inbound], outbounds: [{ protocol: 'freedom' }] }));
  const proc = lab.spawn('proxy', 'v2ray', ['-config', config], { name: `v2ray-${port}` });
  return started(lab, proc, 'proxy', [[host, port]], opts.timeoutMs ?? 10_000, { host, port, log: proc.logPath, config });
}

/**
 * `ssh -D` SOCKS server: sshd on 127.0.0.1:<sshdPort> in the proxy namespace (own config, host key
 * and authorized_keys in lab.dir) and `ssh -N -D 192.0.2.1:<port>` (+ [2001:db8:1::1]:<port>) in
 * the same namespace, so targets see 198.51.100.1 like with the other proxies. Logs in as root, or
 * as sgtest when root's password is locked ('!').
 */
export async function startSshSocks(lab: Lab, opts: { port?: number; sshdPort?: number; user?: string; timeoutMs?: number } = {}): Promise<SocksHandle & { sshd: LabProcess; sshdLog: string; sshdPort: number }> {
  const port = opts.port ?? 1082;
  const sshdPort = opts.sshdPort ?? 22;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const user = opts.user ?? (rootLocked() ? TEST_USER : 'root');
  const base = path.join(lab.dir, `ssh-${port}`);
  await fsp.mkdir(base, { recursive: true, mode: 0o755 });
  await fsp.chmod(base, 0o755);
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const hostKey = path.join(base, 'host_ed25519');
  const userKey = path.join(base, 'id_ed25519');
  await Promise.all([
    lab.exec('proxy', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sglab-host', '-f', hostKey]),
    lab.exec('proxy', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sglab-user', '-f', userKey]),
  ]);
  const authorizedKeys = path.join(base, 'authorized_keys');
  await fsp.copyFile(`${userKey}.pub`, authorizedKeys);
  await fsp.chmod(authorizedKeys, 0o644);
  const sshdConfig = path.join(base, 'sshd_config');
  await fsp.writeFile(
    sshdConfig,
    [
      '# socksgate e2e lab',
      `Port ${sshdPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${base}/sshd.pid`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'PrintMotd no',
      'UseDNS no',
      'MaxStartups 100:30:200',
      'MaxSessions 100',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  // sshd must be started with an absolute path (it re-execs itself); -D foreground, -e log to stderr
  const sshd = lab.spawn('proxy', '/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig], { name: `sshd-${sshdPort}` });
  try {
    await lab.waitForPort('proxy', '127.0.0.1', sshdPort, timeoutMs, sshd);
  } catch (e) {
    await lab.kill(sshd, 500);
    throw e;
  }
  const A = LAB_ADDR;
  const dyn = ['-D', `${A.proxyClientSide}:${port}`];
  if (lab.ipv6) dyn.push('-D', `[${A.proxyClientSide6}]:${port}`);
  const ssh = lab.spawn(
    'proxy',
    'ssh',
    [
      '-F', '/dev/null',
      '-N',
      ...dyn,
      '-o', 'GatewayPorts=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'ExitOnForwardFailure=yes',
      '-o', 'ServerAliveInterval=10',
      '-o', 'LogLevel=ERROR',
      '-i', userKey,
      '-p', String(sshdPort),
      `${user}@127.0.0.1`,
    ],
    { name: `ssh-D-${port}` },
  );
  const endpoints: [string, number][] = [[A.proxyClientSide, port]];
  if (lab.ipv6) endpoints.push([A.proxyClientSide6, port]);
  try {
    const h = await started(lab, ssh, 'proxy', endpoints, timeoutMs, {
      host: A.proxyClientSide,
      ...(lab.ipv6 ? { host6: A.proxyClientSide6 } : {}),
      port,
      log: sshd.logPath,
      sshd,
      sshdLog: sshd.logPath,
      sshdPort,
    });
    return Object.assign(h, {
      stop: async () => {
        await lab.kill(ssh);
        await lab.kill(sshd);
      },
    });
  } catch (e) {
    await lab.kill(sshd, 500);
    throw new Error(`${(e as Error).message}\n--- sshd output ---\n${sshd.output()}`);
  }
}

function rootLocked(): boolean {
  try {
    const line = fs.readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith('root:'));
    return (line?.split(':')[1] ?? '').startsWith('!');
  } catch {
    return false;
  }
}

/**
 * tinyproxy (HTTP CONNECT and plain HTTP proxy) in the proxy namespace on 192.0.2.1:<port>
 * (or `listen`), foreground, BasicAuth when user/pass are given, Allow 192.0.2.0/24.
 * A wrong password gets 401 (not 407).
 */
export async function startTinyproxy(lab: Lab, opts: { port?: number; user?: string; pass?: string; listen?: string; timeoutMs?: number } = {}): Promise<SocksHandle & { config: string }> {
  const port = opts.port ?? 8888;
  const host = opts.listen ?? LAB_ADDR.proxyClientSide;
  const log = path.join(lab.dir, `tinyproxy-${port}-proxy.log`);
  const config = path.join(lab.dir, `tinyproxy-${port}.conf`);
  // tinyproxy drops to nobody before opening its log file
  await fsp.writeFile(log, '');
  await fsp.chmod(log, 0o666);
  const lines = [
    '# socksgate e2e lab',
    `Port ${port}`,
    `Listen ${host}`,
    'User nobody',
    'Group nogroup',
    'Timeout 60',
    `LogFile "${log}"`,
    'LogLevel Info',
    'MaxClients 200',
    `Allow ${LAB_ADDR.clientNet}`,
    `Allow ${LAB_ADDR.clientNet6}`,
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
  ];
  if (opts.user !== undefined || opts.pass !== undefined) {
    if (opts.user === undefined || opts.pass === undefined) throw new Error('tinyproxy: user and pass go together');
    lines.push(`BasicAuth ${opts.user} ${opts.pass}`);
  }
  await fsp.writeFile(config, lines.join('\n') + '\n');
  const proc = lab.spawn('proxy', 'tinyproxy', ['-d', '-c', config], { name: `tinyproxy-${port}` });
  return started(lab, proc, 'proxy', [[host, port]], opts.timeoutMs ?? 10_000, {
    host,
    port,
    ...(opts.user !== undefined ? { user: opts.user, pass: opts.pass } : {}),
    log,
    config,
  });
}

export interface DnsmasqHandle {
  /** Listening addresses (UDP and TCP port 53 by default) in the internet namespace. */
  hosts: string[];
  port: number;
  /** name → address answers it gives (A, and AAAA for IPv6 addresses). */
  records: Record<string, string[]>;
  proc: LabProcess;
  stop(): Promise<void>;
}

/**
 * dnsmasq as an authoritative-style answerer in the internet namespace on 198.51.100.2 (+
 * 2001:db8:2::2 with ipv6), its own config only: no resolv.conf, no /etc/hosts, no forwarding.
 * Answers web.lab.test (A 198.51.100.2, AAAA 2001:db8:2::2) and alt.lab.test (A 203.0.113.10),
 * plus `records`; other names get REFUSED (nothing is forwarded).
 */
export async function startDnsmasq(lab: Lab, opts: { port?: number; records?: Record<string, string[]>; timeoutMs?: number } = {}): Promise<DnsmasqHandle> {
  const port = opts.port ?? 53;
  const A = LAB_ADDR;
  const records: Record<string, string[]> = {
    [LAB_HOSTS.web]: [A.internet, ...(lab.ipv6 ? [A.internet6] : [])],
    [LAB_HOSTS.alt]: [A.extraTarget],
    ...opts.records,
  };
  const hosts = [A.internet, ...(lab.ipv6 ? [A.internet6] : [])];
  // --keep-in-foreground, not --no-daemon: in debug mode dnsmasq serves one TCP connection at a time,
  // inline, so a persistent (RFC 7766) DNS-over-TCP client would block every other query.
  const args = ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--bind-interfaces', '--user=root', `--port=${port}`, '--log-queries', '--log-facility=-'];
  args.push(`--pid-file=${path.join(lab.dir, `dnsmasq-${port}.pid`)}`);
  for (const host of hosts) args.push(`--listen-address=${host}`);
  for (const [name, addrs] of Object.entries(records)) for (const addr of addrs) args.push(`--address=/${name}/${addr}`);
  const proc = lab.spawn('internet', 'dnsmasq', args, { name: `dnsmasq-${port}` });
  return started(lab, proc, 'internet', hosts.map((h): [string, number] => [h, port]), opts.timeoutMs ?? 10_000, { hosts, port, records });
}

export interface UdpEchoHandle {
  proc: LabProcess;
  stop(): Promise<void>;
}

/**
 * UDP echo (test/e2e/fixtures/udp-echo-server.mjs) in the internet namespace on 198.51.100.2 and
 * 203.0.113.10 (+ 2001:db8:2::2, 2001:db8:3::10), one socket per address so replies come from it:
 * `ports` echo from the same port, `shifted` [P, R] echo what arrives on P from port R.
 */
export async function startUdpEcho(lab: Lab, opts: { ports?: number[]; range?: [number, number]; shifted?: [number, number][]; hosts?: string[]; timeoutMs?: number }): Promise<UdpEchoHandle> {
  const A = LAB_ADDR;
  const args = [path.join(FIXTURES, 'udp-echo-server.mjs')];
  for (const host of opts.hosts ?? [A.internet, A.extraTarget, ...(lab.ipv6 ? [A.internet6, A.extraTarget6] : [])]) args.push('--host', host);
  for (const p of opts.ports ?? []) args.push('--port', String(p));
  if (opts.range) args.push('--ports', `${opts.range[0]}-${opts.range[1]}`);
  for (const [p, r] of opts.shifted ?? []) args.push('--shifted', `${p}:${r}`);
  const proc = lab.spawn('internet', process.execPath, args, { name: 'udp-echo' });
  try {
    await waitForLog(proc.logPath, /^ready$/m, opts.timeoutMs ?? 10_000);
  } catch (e) {
    await lab.kill(proc, 500);
    throw new Error(`${(e as Error).message}\n--- udp-echo output ---\n${proc.output()}`);
  }
  return { proc, stop: () => lab.kill(proc) };
}

// ---------------------------------------------------------------------------------------------
// Client helpers
// ---------------------------------------------------------------------------------------------

export interface CurlResult {
  /** curl's exit status (0 ok, 7 connect failed, 28 timeout, 97 SOCKS refused, ...). */
  code: number;
  /** Response body (stdout). */
  body: string;
  stdout: string;
  stderr: string;
}

/**
 * curl in a namespace: `curl -sS --connect-timeout 5 --max-time 20 <extraArgs> <url>`. Never
 * throws on curl errors; check `code`. Use `-o <file>` in extraArgs for binary bodies.
 */
export async function curl(lab: Lab, ns: NsRef, url: string, extraArgs: readonly string[] = [], opts: { timeoutMs?: number } = {}): Promise<CurlResult> {
  const r = await lab.exec(ns, 'curl', ['-sS', '--connect-timeout', '5', '--max-time', '20', ...extraArgs, url], {
    allowFail: true,
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
  return { code: r.code, body: r.stdout, stdout: r.stdout, stderr: r.stderr };
}

/** sha256 (hex) of a file. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Wait (bounded polling) until a log file contains a match; returns the matching line. */
export async function waitForLog(file: string, pattern: RegExp | string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      /* not yet */
    }
    const line = text.split('\n').find((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l)));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${pattern} in ${file}\n--- tail ---\n${text.slice(-2000)}`);
    await sleep(50);
  }
}
