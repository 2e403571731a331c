export type EvictReason = 'lru' | 'idle' | 'shutdown';

export interface IdleLruOptions<K, V> {
  /** At most this many entries; adding one more evicts the least recently used. */
  readonly max: number;
  /** Entries unused for this long are evicted by sweep(). */
  readonly idleMs: number;
  readonly onEvict: (key: K, value: V, reason: EvictReason) => void;
  readonly now?: () => number;
}

/**
 * A bounded map ordered by last use. JavaScript's Map keeps insertion order, so re-inserting on
 * every touch keeps the least recently used entry first: eviction and idle sweeps both start there
 * and stop at the first entry they keep, whatever the size.
 */
export class IdleLru<K, V> {
  private readonly entries = new Map<K, { value: V; usedAt: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: IdleLruOptions<K, V>) {
    if (!Number.isInteger(opts.max) || opts.max < 1) throw new RangeError(`max must be a positive integer, got ${opts.max}`);
    this.now = opts.now ?? (() => performance.now());
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, marked as just used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    entry.usedAt = this.now();
    this.entries.set(key, entry);
    return entry.value;
  }

  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Adds (or replaces, without an eviction callback) an entry, evicting the LRU one when full. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    while (this.entries.size >= this.opts.max) this.evictFirst('lru');
    this.entries.set(key, { value, usedAt: this.now() });
  }

  /** Removes an entry without calling onEvict (its owner already knows). */
  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Evicts every entry idle for idleMs or longer; returns how many. */
  sweep(): number {
    const cutoff = this.now() - this.opts.idleMs;
    let evicted = 0;
    for (const [, entry] of this.entries) {
      if (entry.usedAt > cutoff) break;
      this.evictFirst('idle');
      evicted++;
    }
    return evicted;
  }

  clear(reason: EvictReason = 'shutdown'): void {
    while (this.entries.size > 0) this.evictFirst(reason);
  }

  private evictFirst(reason: EvictReason): void {
    const first = this.entries.entries().next();
    if (first.done) return;
    const [key, entry] = first.value;
    this.entries.delete(key);
    this.opts.onEvict(key, entry.value, reason);
  }
}
