/**
 * Figure 4, memory: the socksifier's RSS with N concurrent idle proxied connections (opened by
 * idle-conns.mjs in the client namespace to the echo server in the internet namespace, through
 * Dante), minus its RSS just before, per connection — from the first wave on a fresh process
 * (later waves reuse memory the first one left), 1 s after the last one opened and again once they
 * have been idle for STEADY_MS. More waves on the same process show whether RSS
 * keeps growing once the connections are gone. The steady figure is also taken from RssAnon alone
 * (the same for every socksifier): a one-time cost such as the pages of node's optimizing compiler,
 * first run under the wave's load (~3.75 MiB, whatever the count), is file-backed program code, not
 * memory per connection; a C peer's per-connection memory is all anonymous.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_ADDR, type Lab } from '../../test/e2e/lab.js';
import { ECHO_PORT } from './bench-lab.js';
import type { Running } from './socksifiers.js';
import { fdCount, rssAnonKiB, rssKiB, sleep } from './util.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'idle-conns.mjs');

export interface MemoryWave {
  idleKiB: number;
  loadedKiB: number;
  /** RSS once the open connections have been idle for STEADY_MS (a runtime's GC has had its turn); undefined when not waited for. */
  steadyKiB?: number;
  afterKiB: number;
  perConnKiB: number;
  perConnSteadyKiB?: number;
  /** The same as perConnSteadyKiB from RssAnon: without file-backed pages (program code first run under load). */
  perConnSteadyAnonKiB?: number;
  fdsPerConn: number;
  opened: number;
  failed: number;
  openMs: number;
  /** fds the socksifier still held after the connections closed, over its count before them. */
  fdsLeft: number;
}

export interface MemoryResult {
  count: number;
  /** RSS of the fresh process before it proxied anything (before the warm-up). */
  startKiB?: number;
  waves: MemoryWave[];
  /** RSS STEADY_MS after the last wave closed minus the same after the first (0 with one wave). */
  growthKiB: number;
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * How long the idle connections stay open before the steady figure: V8's memory reducer collects
 * what setting the connections up left behind ~8 s after allocation stops; C programs do not move.
 */
export const STEADY_MS = 15_000;
/** Idle time between the warm-up and the first wave, for every socksifier alike. */
export const IDLE_BEFORE_WAVES_MS = 4_000;

async function wave(lab: Lab, pid: number, count: number, n: number, settleMs = 1000, steady = false): Promise<MemoryWave> {
  const idleKiB = rssKiB(pid);
  const idleAnonKiB = rssAnonKiB(pid);
  const fd0 = fdCount(pid);
  const t0 = performance.now();
  const client = lab.spawn(
    'client',
    process.execPath,
    [CLIENT, '--host', LAB_ADDR.internet, '--port', String(ECHO_PORT), '--count', String(count), '--concurrency', '100', '--deadline-ms', '180000'],
    { name: `idle-conns-${pid}-${n}`, stdin: 'pipe' },
  );
  try {
    const ready = await waitFor(() => /open \d+ failed \d+/.test(client.output()) || client.exitCode !== null, 120_000);
    const m = /open (\d+) failed (\d+)/.exec(client.output());
    if (!ready || !m) throw new Error(`idle-conns did not open its connections:\n${client.output()}`);
    const openMs = performance.now() - t0;
    const opened = Number(m[1]);
    const failed = Number(m[2]);
    await sleep(settleMs); // let the relay settle (buffers, GC)
    const loadedKiB = rssKiB(pid);
    const fd1 = fdCount(pid);
    if (steady) await sleep(STEADY_MS - settleMs);
    const steadyKiB = steady ? rssKiB(pid) : undefined;
    const steadyAnonKiB = steady ? rssAnonKiB(pid) : undefined;
    client.stdin?.end('close\n');
    await Promise.race([client.exited(), sleep(10_000)]);
    // wait until the socksifier has closed its side of every connection (or its fd count has
    // stopped falling for half a second: a relay may keep some fds, e.g. a pipe pool)
    let last = fdCount(pid);
    let stableSince = Date.now();
    await waitFor(() => {
      const now = fdCount(pid);
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      return now <= fd0 + 2 || Date.now() - stableSince > 500;
    }, 15_000);
    const fdsLeft = fdCount(pid) - fd0;
    await sleep(steady ? STEADY_MS : settleMs / 2);
    const afterKiB = rssKiB(pid);
    return {
      idleKiB,
      loadedKiB,
      steadyKiB,
      afterKiB,
      perConnKiB: (loadedKiB - idleKiB) / Math.max(1, opened),
      perConnSteadyKiB: steadyKiB === undefined ? undefined : (steadyKiB - idleKiB) / Math.max(1, opened),
      perConnSteadyAnonKiB: steadyAnonKiB === undefined ? undefined : (steadyAnonKiB - idleAnonKiB) / Math.max(1, opened),
      fdsPerConn: (fd1 - fd0) / Math.max(1, opened),
      opened,
      failed,
      openMs,
      fdsLeft,
    };
  } finally {
    await lab.kill(client, 1000);
  }
}

export async function runMemory(lab: Lab, running: Running, count: number, waves: number): Promise<MemoryResult> {
  if (running.pid === null) throw new Error('memory: no socksifier process');
  const startKiB = rssKiB(running.pid);
  // warm up: a few connections so first-use allocations do not count as per-connection memory
  await wave(lab, running.pid, 20, 0, 0);
  // then idle, as the baseline is meant to be: a daemon's own after-start work (socksgate's one
  // memory-reducing collection waits for a quiet second) is over before the first wave, not in it
  await sleep(IDLE_BEFORE_WAVES_MS);
  const out: MemoryWave[] = [];
  // the first and the last wave wait for the runtime to collect (with the connections open, then
  // closed), so growth compares like with like; the waves between only churn
  for (let i = 1; i <= waves; i++) out.push(await wave(lab, running.pid, count, i, 1000, i === 1 || i === waves));
  return { count, startKiB, waves: out, growthKiB: out[out.length - 1]!.afterKiB - out[0]!.afterKiB };
}
