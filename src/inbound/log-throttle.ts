/**
 * At most one log line per key (a refusal reason) per interval. A flood of refused connections (a
 * loop, a client hammering a listener directly) would otherwise write one line each, and the
 * logger writes synchronously. The first line is written at once; those within the next interval
 * are only counted, and at its end one summary line gives the count and starts a new interval, so
 * a steady flood costs one line per interval.
 */
export class LogThrottle {
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    /** Writes the summary of `count` lines left out for `key` in the last interval. */
    private readonly summarize: (key: string, count: number) => void,
  ) {}

  /** Whether the line for `key` is to be written now; false: it is counted for the summary. */
  allow(key: string): boolean {
    const count = this.suppressed.get(key);
    if (count !== undefined) {
      this.suppressed.set(key, count + 1);
      return false;
    }
    this.startInterval(key);
    return true;
  }

  private startInterval(key: string): void {
    this.suppressed.set(key, 0);
    const timer = setTimeout(() => {
      const count = this.suppressed.get(key) ?? 0;
      this.suppressed.delete(key);
      if (count === 0) return;
      this.summarize(key, count);
      this.startInterval(key);
    }, this.intervalMs);
    // A pending summary never keeps the daemon alive.
    timer.unref();
  }
}
