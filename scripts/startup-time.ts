/**
 * Start-up to listening and idle RSS of `socksgate run`, next to a bare `node -e 0` in the same run.
 *
 *   node --import tsx scripts/startup-time.ts [--runs 10] [--rss-runs 3] [--idle-s 5] [--main dist/main.js]… [-- extra run args]
 *
 * Several --main (say, another build's dist/main.js) are measured in turn within each round. A
 * --main that does not end in .js is run as a program (a wrapper script, say), not under this node.
 *
 * Start-up: spawn of dist/main.js as its bin runs (the shebang's node flags) with one redirect
 * listener on loopback and one upstream (socks5://127.0.0.1:1, never dialled: no client comes),
 * polling connect() to the listener every millisecond until it succeeds. `node -e 0` is timed
 * spawn to exit, alternating with the daemon's starts so both see the same machine. No firewall
 * rules are applied (`--rules off`, the default); --mark needs CAP_NET_ADMIN (run as root).
 * Idle RSS: VmRSS from /proc/PID/status after --idle-s seconds with nothing to do, next to a bare
 * `node -e 'setInterval(() => {}, 1e9)'`. Also the CPU time all threads used by the time the listener
 * accepts (schedstat of each task in /proc/PID/task; for node, when its one-line script runs): less disturbed by
 * other load than wall time. Prints medians (min–max) as a small table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { shebangFlags } from '../test/e2e/socksgate.js';

const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    'rss-runs': { type: 'string', default: '3' },
    'idle-s': { type: 'string', default: '5' },
    main: { type: 'string', multiple: true, default: ['dist/main.js'] },
  },
  allowPositionals: true,
});
const RUNS = Number(values.runs);
const RSS_RUNS = Number(values['rss-runs']);
const IDLE_MS = Number(values['idle-s']) * 1000;
const MAINS = values.main.map((m) => path.resolve(m));
const dir = mkdtempSync(path.join(os.tmpdir(), 'socksgate-startup-'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const summary = (xs: number[], digits = 0) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

function startDaemon(main: string, port: number): { child: ChildProcess; output: () => string } {
  const args = ['run', '--upstream', 'socks5://127.0.0.1:1', '--redirect', `127.0.0.1:${port}`,
    '--mark', '1', '--rules', 'off', '--control', path.join(dir, `control-${port}.sock`), ...positionals];
  // A .js main runs under this node with its shebang's flags; anything else is a bin run as is.
  const child = main.endsWith('.js')
    ? spawn(process.execPath, [...shebangFlags(main), main, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(main, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, output: () => err };
}

/** ms from spawn until the redirect listener accepts, and the CPU ms used by then; the daemon is left running. */
async function timeDaemon(main: string): Promise<{ ms: number; cpu: number; child: ChildProcess }> {
  const port = await freePort();
  const t0 = performance.now();
  const { child, output } = startDaemon(main, port);
  for (;;) {
    if (await tryConnect(port)) return { ms: performance.now() - t0, cpu: cpuMs(child.pid!), child };
    if (child.exitCode !== null) throw new Error(`socksgate exited (${child.exitCode}) before listening:\n${output()}`);
    if (performance.now() - t0 > 10_000) throw new Error(`socksgate not listening after 10 s:\n${output()}`);
    await sleep(1);
  }
}

async function timeBareNode(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await exited(child);
  return performance.now() - t0;
}

/** CPU time of every thread of `pid` so far, ms: steadier than wall time on a busy machine. */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e6;
}

/** The same for a bare node: its CPU time when its script (one read of schedstat) runs. */
async function bareNodeCpuMs(): Promise<number> {
  const script = "let n=0;for(const t of require('fs').readdirSync('/proc/self/task'))n+=+require('fs').readFileSync('/proc/self/task/'+t+'/schedstat','utf8').split(' ')[0];process.stdout.write(String(n/1e6))";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await exited(child);
  return Number(out);
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return Number(kb) / 1024;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await exited(child);
}

try {
  const nodeMs: number[] = [];
  const nodeCpu: number[] = [];
  const nodeRss: number[] = [];
  const daemons = MAINS.map((main) => ({ main, ms: [] as number[], cpu: [] as number[], rss: [] as number[] }));
  for (let i = 0; i < RUNS; i++) {
    nodeMs.push(await timeBareNode());
    nodeCpu.push(await bareNodeCpuMs());
    for (const d of daemons) {
      const { ms, cpu, child } = await timeDaemon(d.main);
      d.ms.push(ms);
      d.cpu.push(cpu);
      await stop(child);
    }
  }
  for (let i = 0; i < RSS_RUNS; i++) {
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    const children: ChildProcess[] = [];
    for (const d of daemons) children.push((await timeDaemon(d.main)).child);
    await sleep(IDLE_MS);
    nodeRss.push(rssMiB(bare.pid!));
    daemons.forEach((d, j) => d.rss.push(rssMiB(children[j]!.pid!)));
    await Promise.all([stop(bare), ...children.map(stop)]);
  }
  console.log(`node ${process.version}, ${os.cpus().length} cores, ${RUNS} starts, ${RSS_RUNS} idle runs of ${IDLE_MS / 1000} s; median (min–max); ratio to bare node`);
  console.log('| | start-up, ms | CPU time by then (all threads), ms | idle RSS, MiB |');
  console.log('|---|---:|---:|---:|');
  console.log(`| bare node | ${summary(nodeMs)} | ${summary(nodeCpu)} | ${summary(nodeRss, 1)} |`);
  const ratio = (xs: number[], base: number[]) => `${(median(xs) / median(base)).toFixed(2)}×`;
  for (const d of daemons) {
    console.log(`| ${path.relative(process.cwd(), d.main)} run | ${summary(d.ms)}, ${ratio(d.ms, nodeMs)} | ${summary(d.cpu)}, ${ratio(d.cpu, nodeCpu)} | ${summary(d.rss, 1)}, ${ratio(d.rss, nodeRss)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
