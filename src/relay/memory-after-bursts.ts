import { releaseMemory } from '../native/index.js';

const CHECK_MS = 5_000;
/** Start-up is a burst of its own (the config parsed, modules run, code compiled); over by then. */
const AFTER_START_MS = 1_000;
/**
 * The collection after start-up waits for a quiet second: no flow opened, no datagram, and the
 * process busy less than QUIET_CPU of the time. It is tens of ms of CPU with the loop
 * stopped, which traffic that began at once (a first UDP association, a first flow) would feel as
 * a stall, and pay for out of its own CPU. At the latest it comes after AFTER_START_TRIES seconds.
 */
const QUIET_CPU = 0.02;
const AFTER_START_TRIES = 60;
/** Fewer live flows than this at the peak is no burst: V8's own GC heuristics are enough. */
const MIN_PEAK = 1_000;
/** Fewer flows opened within a check than this: openings have calmed down. */
const QUIET_OPENINGS = MIN_PEAK / 10;

/**
 * Gives the memory of a burst back once it is over. V8's memory reducer shrinks the heap after
 * start-up, and afterwards only once committed memory has grown by 10 MiB, so the pages that
 * thousands of concurrent flows leave committed (and malloc's free chunks) would stay for good.
 * When the live flows have fallen to a quarter of a peak of at least MIN_PEAK and stayed there for
 * a check, one memory-reducing collection and a malloc trim return them: tens of ms, at most once
 * per burst. The same once a burst of at least MIN_PEAK openings has calmed down for a check while
 * its flows stay: setting them up (handshakes, dial plans, promises) left its garbage in pages that
 * thousands of idle flows would otherwise keep committed (RSS per idle flow 15 s after a burst of
 * 2,000: 3.9 → 3.2 KiB, scripts/bench/heap-per-flow.ts --rss-only). Also once after start-up,
 * whose garbage would otherwise stay committed (idle RSS 58 → 51 MiB): a second after it, or after
 * the first quiet second (`quiet`, QUIET_CPU) since.
 */
export function releaseMemoryAfterBursts(
  flows: { readonly size: number; readonly peak: number; readonly added: number; resetPeak(): void },
  release: () => void = releaseMemory,
  quiet: () => boolean = quietSince(),
): { stop(): void } {
  let quietChecks = 0;
  let addedBefore = flows.added;
  /** Flows opened since openings last paused (two calm checks in a row). */
  let opening = 0;
  let calmChecks = 0;
  const timer = setInterval(() => {
    const added = flows.added - addedBefore;
    addedBefore = flows.added;
    const calm = added < QUIET_OPENINGS;
    calmChecks = calm ? calmChecks + 1 : 0;
    opening += added;
    const closedBurst = flows.peak >= MIN_PEAK && flows.size <= flows.peak / 4;
    const openedBurst = opening >= MIN_PEAK && calm;
    // A trickle is no burst, but one slow check in a burst slowed down by a busy machine (or a busy
    // upstream) is no pause either: forgetting the openings there left the burst's garbage
    // committed for good (RSS per idle flow 15 s after a burst of 5,000: 3.25 against 1.65 KiB).
    if (calmChecks >= 2 && !openedBurst) opening = 0;
    quietChecks = closedBurst || openedBurst ? quietChecks + 1 : 0;
    if (quietChecks < 2) return;
    quietChecks = 0;
    opening = 0;
    flows.resetPeak();
    release();
  }, CHECK_MS);
  timer.unref();
  let afterStart: NodeJS.Timeout;
  let tries = 0;
  const releaseWhenQuiet = () => {
    if (!quiet() && ++tries < AFTER_START_TRIES) afterStart = setTimeout(releaseWhenQuiet, AFTER_START_MS).unref();
    else release();
  };
  afterStart = setTimeout(releaseWhenQuiet, AFTER_START_MS).unref();
  return {
    stop: () => {
      clearInterval(timer);
      clearTimeout(afterStart);
    },
  };
}

/**
 * Whether the time since the last call (the first: since this was made) was quiet: `activity` (a
 * count of what the daemon did: flows opened, datagrams) did not move, and the process used less
 * than QUIET_CPU of a core.
 */
export function quietSince(activity: () => number = () => 0, busy: () => number = cpuShare()): () => boolean {
  let done = activity();
  return () => {
    const worked = busy();
    const before = done;
    done = activity();
    return done === before && worked < QUIET_CPU;
  };
}

/**
 * The share of one core the process used since the last call (the first: since this was made).
 * process.cpuUsage rather than perf_hooks' eventLoopUtilization: loading perf_hooks costs an idle
 * daemon ~0.8 MiB of RSS, and CPU also counts work off the event loop.
 */
function cpuShare(): () => number {
  let cpu = process.cpuUsage();
  let at = process.hrtime.bigint();
  return () => {
    const used = process.cpuUsage(cpu);
    const now = process.hrtime.bigint();
    const wallUs = Number(now - at) / 1_000;
    cpu = process.cpuUsage();
    at = now;
    return wallUs > 0 ? (used.user + used.system) / wallUs : 0;
  };
}
