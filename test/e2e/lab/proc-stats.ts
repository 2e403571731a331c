/** What a process holds, read from /proc: its open fds by kind and its resident memory. */
import fs from 'node:fs';
import { sleep } from './process.js';

export interface FdCounts {
  total: number;
  sockets: number;
  pipes: number;
  /** Everything else: epoll, eventfd, files, /dev/null. */
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
    if (target.startsWith('socket:')) counts.sockets++;
    else if (target.startsWith('pipe:')) counts.pipes++;
    else counts.other++;
  }
  return counts;
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
