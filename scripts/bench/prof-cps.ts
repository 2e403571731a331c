/**
 * Where socksgate's time goes per new connection: one build under the cps load (wrk -c 50,
 * Connection: close, through the redirect listener and Dante), with its user and system CPU per
 * 1,000 connections from /proc, and with --cpu-prof a V8 profile of the same load summarized, or
 * with --perf FILE a `perf record -e cpu-clock` of it (user and kernel; node runs with
 * --perf-basic-prof so that JIT code has names): `perf report -i FILE --sort dso,sym`.
 *
 *   sudo node --import tsx scripts/bench/prof-cps.ts [--seconds 8] [--warmup 1] [--cpu-prof | --perf FILE] [--node-flags '--trace-deopt …'] path/to/dist/main.js|ipt2socks
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createLab } from '../../test/e2e/lab.js';
import { startServers } from './bench-lab.js';
import { summarizeProfile } from './prof-summary.js';
import { peerBinaries } from './peers.js';
import { setPeerBinaries, setSocksgateMain, withVariant } from './socksifiers.js';

/** Where the daemon's output is kept when it ran with extra node flags (the lab's logs go with it). */
const KEPT_LOG = path.join(tmpdir(), 'prof-cps-daemon.log');

/** utime and stime of a process, in clock ticks (100 per second on Linux). */
function ticks(pid: number): { user: number; sys: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]), sys: Number(fields[12]) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  /** The value after --name (taken out of args), or undefined. */
  const option = (name: string) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
  };
  const seconds = Number(option('seconds') ?? 8);
  const warmup = Number(option('warmup') ?? 1);
  const perfFile = option('perf');
  const extraFlags = option('node-flags')?.split(' ') ?? [];
  const prof = args.indexOf('--cpu-prof');
  if (prof >= 0) args.splice(prof, 1);
  const profileDir = prof >= 0 ? mkdtempSync(path.join(tmpdir(), 'prof-cps-')) : undefined;
  const peer = args[0] === 'ipt2socks';
  if (peer) setPeerBinaries(peerBinaries({}));
  else setSocksgateMain(args[0]!);
  const lab = await createLab();
  try {
    const servers = await startServers(lab, {});
    const url = servers.nginx.url('/small.txt');
    let daemonLog: string | undefined;
    await withVariant(lab, peer ? 'ipt2socks' : 'socksgate', servers.dante, { tag: 'prof-cps', ...(profileDir ? { profileDir } : {}), nodeFlags: [...extraFlags, ...(perfFile ? ['--perf-basic-prof'] : [])] }, async (running) => {
      const wrk = (s: number) => lab.exec('client', 'wrk', ['-c', '50', '-t', '2', '-d', `${s}s`, '--timeout', '5s', '-H', 'Connection: close', url], { allowFail: true, timeoutMs: (s + 20) * 1000 });
      await wrk(warmup);
      const perf = perfFile ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-g', '-o', perfFile, '-p', String(running.pid)], { stdio: 'ignore' }) : undefined;
      const before = ticks(running.pid!);
      const out = (await wrk(seconds)).stdout;
      const after = ticks(running.pid!);
      if (perf) {
        const exited = new Promise((resolve) => perf.once('exit', resolve));
        perf.kill('SIGINT');
        await exited;
      }
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const per1k = (t: number) => (t / 100 / (requests / 1000)).toFixed(3);
      daemonLog = running.proc?.logPath;
      console.log(`${requests} connections: user ${per1k(after.user - before.user)} s, system ${per1k(after.sys - before.sys)} s per 1,000`);
    });
    if (daemonLog && extraFlags.length > 0) {
      copyFileSync(daemonLog, KEPT_LOG);
      console.log(`the daemon's output: ${KEPT_LOG}`);
    }
    if (profileDir) for (const f of readdirSync(profileDir)) console.log(summarizeProfile(path.join(profileDir, f), 40));
  } finally {
    await lab.destroy();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  }
}

await main();
