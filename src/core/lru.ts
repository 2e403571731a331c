/** A bounded map that forgets the least recently used entry first (Map keeps insertion order). */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('an LRU needs a capacity of at least 1');
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as just used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  /** Stores the value; returns the entry evicted to make room, if any. */
  set(key: K, value: V): [K, V] | undefined {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size <= this.capacity) return undefined;
    const oldest = this.map.entries().next().value as [K, V];
    this.map.delete(oldest[0]);
    return oldest;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** The least recently used entry. */
  oldest(): [K, V] | undefined {
    return this.map.entries().next().value;
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
