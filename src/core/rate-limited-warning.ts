/**
 * A warning that network input can trigger at any rate (a datagram, a query): written at most once
 * per `intervalMs`; the next line written tells how many were left out in between.
 */
export class RateLimitedWarning {
  private writtenAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `write` with the number left out since the last line when one is due; else counts this one as left out. */
  maybe(write: (suppressed: number) => void): void {
    const now = this.now();
    if (now - this.writtenAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const suppressed = this.suppressed;
    this.writtenAt = now;
    this.suppressed = 0;
    write(suppressed);
  }
}
