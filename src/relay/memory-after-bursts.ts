import v8 from 'node:v8';
import vm from 'node:vm';

const CHECK_MS = 5_000;
/** Fewer live flows than this at the peak is no burst: V8's own GC heuristics are enough. */
const MIN_PEAK = 1_000;

/** V8's gc(): without options a full, compacting collection (Node 20's V8 takes `{ type: 'major' }` for a scavenge). */
type GcFunction = () => void;

let gcFunction: GcFunction | undefined;

/** V8's gc(), exposed on first use rather than by a flag every way of starting node would need. */
function exposedGc(): GcFunction {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as GcFunction;
  }
  return gcFunction;
}

/**
 * Gives the memory of a burst back once it is over. V8's memory reducer shrinks the heap after
 * start-up, and afterwards only once committed memory has grown by 10 MiB, so the ~8 MiB that
 * thousands of concurrent flows leave committed would stay for good. When the live flows have
 * fallen to a quarter of a peak of at least MIN_PEAK and stayed there for a check, one full,
 * compacting collection returns it: ~10 ms, at most once per burst.
 */
export function releaseMemoryAfterBursts(
  flows: { readonly size: number; readonly peak: number; resetPeak(): void },
  collect: () => void = () => exposedGc()(),
): { stop(): void } {
  let quietChecks = 0;
  const timer = setInterval(() => {
    const over = flows.peak >= MIN_PEAK && flows.size <= flows.peak / 4;
    quietChecks = over ? quietChecks + 1 : 0;
    if (quietChecks < 2) return;
    quietChecks = 0;
    flows.resetPeak();
    collect();
  }, CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
