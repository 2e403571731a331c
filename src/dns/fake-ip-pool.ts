import { Lru } from '../core/lru.js';
import { addressAt, offsetOf, type IpBlock } from '../codec/ip-block.js';

/**
 * Names ↔ addresses of one fake-IP block. At most `capacity` names hold an address; a new name
 * past that takes the address of the least recently used one (looked up or connected to).
 */
export class FakeIpPool {
  readonly capacity: number;
  private readonly byName: Lru<string, string>;
  private readonly byAddress = new Map<string, string>();
  /** Next never-used offset; 0 (the network address) and the last (broadcast) are skipped. */
  private cursor = 1n;
  private readonly lastUsable: bigint;

  constructor(
    readonly cidr: IpBlock,
    capacity: number,
  ) {
    this.lastUsable = cidr.size - 2n;
    if (this.lastUsable < 1n) throw new RangeError(`fake-IP range ${cidr.text} is too small`);
    this.capacity = Number(BigInt(capacity) < this.lastUsable ? BigInt(capacity) : this.lastUsable);
    this.byName = new Lru(this.capacity);
  }

  get size(): number {
    return this.byName.size;
  }

  contains(address: string): boolean {
    return offsetOf(this.cidr, address) !== undefined;
  }

  /** The name mapped to `address`, marking it as used. */
  nameOf(address: string): string | undefined {
    const name = this.byAddress.get(address);
    if (name !== undefined) this.byName.get(name);
    return name;
  }

  /** The address of `name` (lower-case, no trailing dot), allocating or recycling one if needed. */
  addressFor(name: string): { address: string; created: boolean } {
    const existing = this.byName.get(name);
    if (existing !== undefined) return { address: existing, created: false };
    let address: string;
    if (this.byName.size < this.capacity && this.cursor <= this.lastUsable) {
      address = addressAt(this.cidr, this.cursor++);
    } else {
      const [oldName, oldAddress] = this.byName.oldest()!;
      this.byName.delete(oldName);
      address = oldAddress;
    }
    this.byName.set(name, address);
    this.byAddress.set(address, name);
    return { address, created: true };
  }

  /** Oldest first, the order `restore` expects. */
  entries(): [string, string][] {
    return [...this.byName.entries()];
  }

  /** Re-creates mappings saved by `entries`; ones outside this block or beyond capacity are skipped. */
  restore(entries: readonly (readonly [string, string])[]): void {
    for (const [name, address] of entries) {
      const offset = offsetOf(this.cidr, address);
      if (offset === undefined || offset < 1n || offset > this.lastUsable || this.byAddress.has(address)) continue;
      const previous = this.byName.peek(name);
      if (previous !== undefined) this.byAddress.delete(previous);
      const evicted = this.byName.set(name, address);
      if (evicted) this.byAddress.delete(evicted[1]);
      this.byAddress.set(address, name);
      if (offset >= this.cursor) this.cursor = offset + 1n;
    }
  }
}
