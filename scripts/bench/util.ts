/** Small helpers shared by the benchmark modules (scripts/bench). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Lab } from '../../test/e2e/lab.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Progress goes to stderr so stdout carries only the final table. */
export function say(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/**
 * utime + stime of a whole process (all its threads), in seconds, from /proc/PID/stat, plus
 * cutime + cstime: what its children that it waited for used (Dante's mother process reaps the
 * children it forked); 0 for a process that is gone.
 */
function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ": state is index 0, so utime (field 14) is index 11, stime 12, cutime 13, cstime 14
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/**
 * utime + stime of this process's children that exited and were waited for (cutime + cstime of
 * /proc/self/stat): a command run to its end in a lab namespace (ip netns exec execs it in place).
 */
export function reapedChildrenCpuSeconds(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/** CPU seconds of every process now in these namespaces and of the children each waited for; 0 for one gone meanwhile. */
export function namespaceCpuSeconds(namespaces: readonly string[]): number {
  const pids = namespaces.flatMap((ns) => spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number));
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** A process and its live descendants (socksgate --workers: the primary and its workers; Dante's forks). */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no such file (or the process is gone): the process alone
  }
  return [pid, ...children.filter((child) => fs.existsSync(`/proc/${child}`)).flatMap(processTree)];
}

/** CPU seconds of a process and its live descendants. */
export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);
}

/** Runs a load client (a node script) in the client namespace; its last stdout line is its JSON result. */
export async function runJsonClient<T>(lab: Lab, script: string, args: string[], timeoutMs: number): Promise<T> {
  const r = await lab.exec('client', process.execPath, [script, ...args], { allowFail: true, timeoutMs });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) throw new Error(`${path.basename(script)} ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(last) as T;
}

/** VmRSS of a process in KiB, from /proc/PID/status. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * Anonymous resident KiB (RssAnon): the process's private memory, without the file-backed pages of
 * its program and libraries, which are shared with the page cache and every process running them.
 */
export function rssAnonKiB(pid: number): number {
  const m = /^RssAnon:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no RssAnon for pid ${pid}`);
  return Number(m[1]);
}

export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Whole-machine CPU (all cores) between two calls, from /proc/stat: busy fraction 0..1. */
export function machineCpu(): () => number {
  const read = () => {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = line[3]! + line[4]!; // idle + iowait
    const total = line.reduce((a, b) => a + b, 0);
    return { idle, total };
  };
  const a = read();
  return () => {
    const b = read();
    const total = b.total - a.total;
    return total > 0 ? 1 - (b.idle - a.idle) / total : NaN;
  };
}

/** CPU seconds a process used while `fn` ran, plus fn's result. */
export async function withCpu<T>(pid: number | null, fn: () => Promise<T>): Promise<{ result: T; cpuS: number; machineBusy: number }> {
  const before = pid === null ? 0 : treeCpuSeconds(pid);
  const busy = machineCpu();
  const result = await fn();
  const machineBusy = busy();
  const cpuS = pid === null ? NaN : treeCpuSeconds(pid) - before;
  return { result, cpuS, machineBusy };
}

/** An interleaving A/B script's command line (ab-cps.ts, ab-inbound.ts): `[--rounds N] [--seconds S] LABEL=path/to/dist/main.js…`. */
export function abCommandLine(argv: readonly string[]): { rounds: number; seconds: number; builds: [label: string, main: string][] } {
  const args = [...argv];
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args.splice(i, 2)[1]! : def;
  };
  const rounds = Number(opt('rounds', '5'));
  const seconds = Number(opt('seconds', '3'));
  const stray = args.find((a) => !/^[^=-][^=]*=./.test(a));
  if (stray !== undefined || args.length === 0) throw new Error(`usage: [--rounds N] [--seconds S] LABEL=path/to/dist/main.js…${stray === undefined ? '' : ` (not LABEL=path: ${stray})`}`);
  return { rounds, seconds, builds: args.map((a) => a.split('=') as [string, string]) };
}
