import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The demo's throwaway lab: three network namespaces joined by veth pairs created inside them,
 * so the host's own network (its interfaces, routes and firewall) is never touched:
 *
 *   client 192.0.2.2 ⇄ 192.0.2.1 proxy 198.51.100.1 ⇄ 198.51.100.2 internet
 *
 * The proxy does not forward, so the client reaches the internet only through a proxy server
 * running there. Everything is synchronous-safe to tear down from an exit handler.
 */

export const DEMO_ADDR = Object.freeze({ client: '192.0.2.2', proxyInside: '192.0.2.1', proxyOutside: '198.51.100.1', internet: '198.51.100.2' });

export type Role = 'client' | 'proxy' | 'internet';

function sh(cmd: string, args: readonly string[], input?: string): void {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.error?.message ?? r.stderr).trim()}`);
}

export class DemoLab {
  readonly ns: Readonly<Record<Role, string>>;
  readonly dir: string;
  private readonly procs = new Set<ChildProcess>();
  private destroyed = false;

  private constructor() {
    const id = randomBytes(3).toString('hex');
    this.ns = { client: `sgdemo-${id}-c`, proxy: `sgdemo-${id}-p`, internet: `sgdemo-${id}-i` };
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'socksgate-demo-'));
    fs.chmodSync(this.dir, 0o755); // Dante's unprivileged children read its config here
  }

  /** Builds the lab; on any failure removes what was built and rethrows. */
  static create(): DemoLab {
    const lab = new DemoLab();
    try {
      lab.build();
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  private build(): void {
    const { client, proxy, internet } = this.ns;
    const A = DEMO_ADDR;
    for (const ns of [client, proxy, internet]) sh('ip', ['netns', 'add', ns]);
    sh('ip', ['-n', client, 'link', 'add', 'to-proxy', 'type', 'veth', 'peer', 'name', 'to-client', 'netns', proxy]);
    sh('ip', ['-n', proxy, 'link', 'add', 'to-inet', 'type', 'veth', 'peer', 'name', 'to-proxy', 'netns', internet]);
    const batch = (ns: string, lines: string[]) => sh('ip', ['-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
    batch(client, ['link set lo up', 'link set to-proxy up', `addr add ${A.client}/24 dev to-proxy`, `route add 198.51.100.0/24 via ${A.proxyInside}`]);
    batch(proxy, ['link set lo up', 'link set to-client up', 'link set to-inet up', `addr add ${A.proxyInside}/24 dev to-client`, `addr add ${A.proxyOutside}/24 dev to-inet`]);
    batch(internet, ['link set lo up', 'link set to-proxy up', `addr add ${A.internet}/24 dev to-proxy`]);
  }

  /** A long-running process in `role`'s namespace, in its own process group; output goes to `log`. */
  spawn(role: Role, cmd: string, args: readonly string[], log: string): ChildProcess {
    const fd = fs.openSync(log, 'a');
    const child = spawn('ip', ['netns', 'exec', this.ns[role], cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    child.on('error', () => {});
    this.procs.add(child);
    return child;
  }

  /** A short command in `role`'s namespace. */
  run(role: Role, cmd: string, args: readonly string[], timeoutMs = 30_000): { code: number; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns[role], cmd, ...args], { encoding: 'utf8', timeout: timeoutMs });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
  }

  /** Polls until host:port accepts TCP from `role`'s namespace; false after `timeoutMs`. */
  waitForPort(role: Role, host: string, port: number, timeoutMs = 10_000): boolean {
    const tries = Math.ceil(timeoutMs / 50);
    const script = `for i in $(seq ${tries}); do (exec 3<>/dev/tcp/${host}/${port}) 2>/dev/null && exit 0; sleep 0.05; done; exit 1`;
    return this.run(role, 'bash', ['-c', script], timeoutMs + 2_000).code === 0;
  }

  /** Stops `child` (SIGTERM, then SIGKILL after `graceMs`) and waits for it. */
  async stop(child: ChildProcess, graceMs = 3_000): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    killGroup(child.pid, 'SIGKILL');
    this.procs.delete(child);
  }

  /** Kills every process left in the namespaces, deletes them and the files. Idempotent, never throws. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const child of this.procs) killGroup(child.pid, 'SIGKILL');
    for (const ns of Object.values(this.ns)) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter(Boolean)) killGroup(Number(pid), 'SIGKILL', false);
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals, group = true): void {
  if (pid === undefined) return;
  try {
    process.kill(group ? -pid : pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
