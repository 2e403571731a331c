/** What stops a live flow at once: a function, or an object that is its own session (no closure per flow). */
export type SessionStop = (() => void) | { stop(): void };

/** The live flows, so a graceful stop can wait for them and then cut the rest. */
export class Sessions {
  private readonly live = new Map<number, SessionStop>();
  private drained?: () => void;
  private highest = 0;
  private opened = 0;

  get size(): number {
    return this.live.size;
  }

  /** The most flows live at once since the last resetPeak. */
  get peak(): number {
    return this.highest;
  }

  /** Flows added since the start (a flow counts once, however often its stop is replaced). */
  get added(): number {
    return this.opened;
  }

  resetPeak(): void {
    this.highest = this.live.size;
  }

  add(id: number, stop: SessionStop): void {
    const before = this.live.size;
    this.live.set(id, stop);
    if (this.live.size === before) return;
    this.opened++;
    if (this.live.size > this.highest) this.highest = this.live.size;
  }

  remove(id: number): void {
    this.live.delete(id);
    if (this.live.size === 0) this.drained?.();
  }

  /** Resolves once every flow has ended, or stops the stragglers after `deadlineMs`. */
  async drain(deadlineMs: number): Promise<number> {
    if (this.live.size === 0) return 0;
    const empty = new Promise<void>((resolve) => (this.drained = resolve));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
    const result = await Promise.race([empty, late]);
    clearTimeout(timer);
    if (result !== 'late') return 0;
    const stragglers = [...this.live.values()];
    for (const stop of stragglers) {
      if (typeof stop === 'function') stop();
      else stop.stop();
    }
    return stragglers.length;
  }
}
