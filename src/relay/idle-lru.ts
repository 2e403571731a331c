import { Lru } from '../core/lru.js';

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
 * The shared LRU (least recently used entry first) with two additions: every eviction is reported
 * to its owner, and entries unused for idleMs go on sweep(), which starts at the least recently used
 * entry and stops at the first one it keeps, whatever the size.
 */
export class IdleLru<K, V> {
  private readonly entries: Lru<K, { value: V; usedAt: number }>;
  private readonly now: () => number;

  constructor(private readonly opts: IdleLruOptions<K, V>) {
    if (!Number.isInteger(opts.max) || opts.max < 1) throw new RangeError(`max must be a positive integer, got ${opts.max}`);
    this.entries = new Lru(opts.max);
    this.now = opts.now ?? (() => performance.now());
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, marked as just used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.usedAt = this.now();
    return entry.value;
  }

  peek(key: K): V | undefined {
    return this.entries.peek(key)?.value;
  }

  /** Adds (or replaces, without an eviction callback) an entry, evicting the LRU one when full. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    while (this.entries.size >= this.opts.max) this.evictOldest('lru');
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
    for (let oldest = this.entries.oldest(); oldest !== undefined && oldest[1].usedAt <= cutoff; oldest = this.entries.oldest()) {
      this.evictOldest('idle');
      evicted++;
    }
    return evicted;
  }

  /** Least recently used first, without touching recency. */
  *values(): IterableIterator<V> {
    for (const [, entry] of this.entries.entries()) yield entry.value;
  }

  clear(reason: EvictReason = 'shutdown'): void {
    while (this.entries.size > 0) this.evictOldest(reason);
  }

  private evictOldest(reason: EvictReason): void {
    const oldest = this.entries.oldest();
    if (oldest === undefined) return;
    const [key, entry] = oldest;
    this.entries.delete(key);
    this.opts.onEvict(key, entry.value, reason);
  }
}
