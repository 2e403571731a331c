/** What a process holds, read from /proc: its open fds by kind and its resident memory. */
import fs from 'node:fs';
import { sleep } from './process.js';

export interface FdCounts {
  total: number;
  sockets: number;
  pipes: number;
  /**
   * Everything else: epoll, eventfd, files. Not /dev/null: libuv opens it once per loop, at the
   * first stream handle (its reserve for accepting through EMFILE), which a daemon whose flows run
   * in the addon may first make for a fault's flow; it stays, and is no leak.
   */
  other: number;
}

export function fdCounts(pid: number): FdCounts {
  const counts: FdCounts = { total: 0, sockets: 0, pipes: 0, other: 0 };
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    counts.total++;
    if (target === '/dev/null') continue;
    if (target.startsWith('socket:')) counts.sockets++;
    else if (target.startsWith('pipe:')) counts.pipes++;
    else counts.other++;
  }
  return counts;
}

/**
 * The RLIMIT_NOFILE at which the process can open exactly `free` more fds: the kernel gives the
 * lowest unused fd number and fails with EMFILE when that number reaches the limit, so what counts
 * is the unused numbers below it, holes included, not how many fds are open.
 */
export function limitLeaving(pid: number, free: number): number {
  const open = new Set(fs.readdirSync(`/proc/${pid}/fd`).map(Number));
  let unused = 0;
  for (let fd = 0; ; fd++) {
    if (open.has(fd)) continue;
    if (unused === free) return fd;
    unused++;
  }
}

/** VmRSS in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Polls (bounded) until `ok` holds for the process's fds; returns the last counts either way. */
export async function pollFds(pid: number, ok: (c: FdCounts) => boolean, timeoutMs: number): Promise<FdCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = fdCounts(pid);
    if (ok(counts) || Date.now() > deadline) return counts;
    await sleep(50);
  }
}

export interface Sample {
  at: number;
  value: number;
}

/** The fds once their count stayed the same for `quietMs` (flows that just ended close theirs), bounded by `timeoutMs`. */
export async function settledFdCounts(pid: number, quietMs = 300, timeoutMs = 5_000): Promise<FdCounts> {
  const deadline = Date.now() + timeoutMs;
  let last = fdCounts(pid);
  let since = Date.now();
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await sleep(50);
    const now = fdCounts(pid);
    if (now.total !== last.total || now.sockets !== last.sockets || now.pipes !== last.pipes) since = Date.now();
    last = now;
  }
  return last;
}

/** Samples `read` every `everyMs` (and once at each end) until stop(), which returns the series. */
export function sample(read: () => number, everyMs = 50): { stop(): Sample[] } {
  const series: Sample[] = [];
  const take = () => {
    try {
      series.push({ at: Date.now(), value: read() });
    } catch {
      /* the process is gone: the caller's liveness check says so */
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return series;
    },
  };
}

/** The highest value sampled in [from, to]; -Infinity when none was. */
export function maxBetween(series: readonly Sample[], from = -Infinity, to = Infinity): number {
  return Math.max(...series.filter((s) => s.at >= from && s.at <= to).map((s) => s.value));
}

/** The last value sampled at or before `at` (the first one if none was). */
export function valueAt(series: readonly Sample[], at: number): number {
  return (series.filter((s) => s.at <= at).pop() ?? series[0]!).value;
}
