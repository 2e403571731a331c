/**
 * What the benchmark needs on the machine: the e2e lab's Debian packages and test user (through
 * scripts/test-deps), plus redsocks, wrk, iperf3 and gcc from Debian. Package scripts must not
 * start services in the root network namespace: a temporary /usr/sbin/policy-rc.d that exits 101
 * is in place during the install (an existing one is kept). Afterwards no redsocks or iperf3 may
 * run in the root namespace (a package may have enabled one on a machine booted with systemd):
 * such a service is stopped through the service manager, by its unit name.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { say } from './util.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Debian package for each command the benchmark runs itself. */
const PACKAGES: Record<string, string> = {
  redsocks: 'redsocks',
  wrk: 'wrk',
  iperf3: 'iperf3',
  gcc: 'gcc',
  curl: 'curl',
  ss: 'iproute2',
  prlimit: 'util-linux',
};

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'installed';
}

function hasCommand(cmd: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
}

function aptInstall(pkgs: string[]): void {
  const policy = '/usr/sbin/policy-rc.d';
  let created = false;
  if (!fs.existsSync(policy)) {
    fs.writeFileSync(policy, '#!/bin/sh\n# temporary, from socksgate scripts/bench: start no services\nexit 101\n', { mode: 0o755 });
    created = true;
  }
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    say(`apt-get install ${pkgs.join(' ')}`);
    run('apt-get', ['update', '-q'], env);
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...pkgs], env);
  } finally {
    if (created) fs.rmSync(policy, { force: true });
  }
}

/** Processes named `names` whose network namespace is this process's (the root one, here). */
function rootNsProcesses(names: string[]): { pid: number; comm: string }[] {
  const mine = fs.readlinkSync('/proc/self/ns/net');
  const found: { pid: number; comm: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (!names.includes(comm)) continue;
      if (fs.readlinkSync(`/proc/${entry}/ns/net`) === mine) found.push({ pid: Number(entry), comm });
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return found;
}

function ensureNoRootServices(): void {
  const names = ['redsocks', 'iperf3'];
  let procs = rootNsProcesses(names);
  if (procs.length === 0) return;
  say(`found ${procs.map((p) => `${p.comm}[${p.pid}]`).join(', ')} in the root namespace: stopping the services`);
  for (const unit of names) {
    spawnSync('systemctl', ['stop', unit], { stdio: 'ignore' });
    spawnSync('systemctl', ['disable', unit], { stdio: 'ignore' });
    spawnSync('service', [unit, 'stop'], { stdio: 'ignore' });
  }
  procs = rootNsProcesses(names);
  if (procs.length > 0) {
    throw new Error(
      `still running in the root network namespace: ${procs.map((p) => `${p.comm}[${p.pid}]`).join(', ')}; stop them yourself (they are not ours to kill)`,
    );
  }
}

/** Install what is missing; throws with the reason when the machine cannot run the benchmark. */
export function ensureDeps(): void {
  if (process.getuid?.() !== 0) throw new Error('the benchmark creates network namespaces: run it as root');
  // the e2e lab's packages (dante-server, nginx-light, microsocks, iperf3, ...) and the sgtest user
  run('bash', [path.join(REPO, 'scripts/test-deps')]);
  const missing = Object.entries(PACKAGES)
    .filter(([cmd, pkg]) => !hasCommand(cmd) || !installed(pkg))
    .map(([, pkg]) => pkg);
  if (missing.length > 0) aptInstall([...new Set(missing)]);
  for (const cmd of Object.keys(PACKAGES)) if (!hasCommand(cmd)) throw new Error(`${cmd} is still missing after apt-get install`);
  ensureNoRootServices();
}
