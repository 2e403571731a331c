import { addressAt, offsetOf, type IpBlock } from '../codec/ip-block.js';

export interface FakeIpPoolOptions {
  /** Names mapped at once; at most the block's usable addresses. */
  readonly capacity: number;
  /**
   * An address goes to another name only when no flow holds it and nothing used it for this long:
   * applications keep answers well past their TTL, and a recycled address they still hold would
   * lead them to someone else's name.
   */
  readonly reuseAfterMs: number;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

/** A mapping as saved: how long ago it was last used (0: held by a flow now). */
export type PoolEntry = readonly [name: string, address: string, idleMs: number];

interface Slot {
  readonly name: string;
  readonly address: string;
  /** Last handed out in an answer, or a flow to it started or ended. */
  usedAt: number;
  /** Live flows and associations to it: while any, it is never recycled. */
  holds: number;
}

/**
 * Names ↔ addresses of one fake-IP block. At most `capacity` names hold an address; past that a new
 * name takes the address of the least recently used name, if no flow holds it and it has been
 * unused for `reuseAfterMs`; else the pool has nothing to give (the name is refused).
 */
export class FakeIpPool {
  readonly capacity: number;
  private readonly byName = new Map<string, Slot>();
  private readonly byAddress = new Map<string, Slot>();
  /** The slots no flow holds, least recently used first: the only ones that may be recycled. */
  private readonly idle = new Map<string, Slot>();
  /** Next never-used offset; 0 (the network address) and the last (broadcast) are skipped. */
  private cursor = 1n;
  private readonly lastUsable: bigint;
  private readonly reuseAfterMs: number;
  private readonly now: () => number;

  constructor(
    readonly cidr: IpBlock,
    opts: FakeIpPoolOptions,
  ) {
    this.lastUsable = cidr.size - 2n;
    if (this.lastUsable < 1n) throw new RangeError(`fake-IP range ${cidr.text} is too small`);
    this.capacity = Number(BigInt(opts.capacity) < this.lastUsable ? BigInt(opts.capacity) : this.lastUsable);
    this.reuseAfterMs = opts.reuseAfterMs;
    this.now = opts.now ?? (() => performance.now());
  }

  get size(): number {
    return this.byName.size;
  }

  contains(address: string): boolean {
    return offsetOf(this.cidr, address) !== undefined;
  }

  /** The name mapped to `address`, marking it as used. */
  nameOf(address: string): string | undefined {
    const slot = this.byAddress.get(address);
    if (slot !== undefined) this.touch(slot);
    return slot?.name;
  }

  /**
   * The address of `name` (lower-case, no trailing dot), allocating or recycling one if needed;
   * undefined when every address is held or was used within the last `reuseAfterMs`.
   */
  addressFor(name: string): { address: string; created: boolean } | undefined {
    const existing = this.byName.get(name);
    if (existing !== undefined) {
      this.touch(existing);
      return { address: existing.address, created: false };
    }
    let address: string;
    if (this.byName.size < this.capacity && this.cursor <= this.lastUsable) {
      address = addressAt(this.cidr, this.cursor++);
    } else {
      const oldest = this.oldestIdle();
      if (oldest === undefined || this.now() - oldest.usedAt < this.reuseAfterMs) return undefined;
      this.remove(oldest);
      address = oldest.address;
    }
    this.add(name, address, this.now());
    return { address, created: true };
  }

  /** A flow to `address` started: it keeps its name until release(). False: no name has it. */
  hold(address: string): boolean {
    const slot = this.byAddress.get(address);
    if (slot === undefined) return false;
    if (slot.holds++ === 0) this.idle.delete(address);
    return true;
  }

  /** A flow that hold() counted ended: the grace period of its address starts now. */
  release(address: string): void {
    const slot = this.byAddress.get(address);
    if (slot === undefined || slot.holds === 0) return;
    slot.holds--;
    if (slot.holds === 0) this.touch(slot);
  }

  /** Least recently used first (held ones last), the order `restore` expects. */
  entries(): PoolEntry[] {
    const now = this.now();
    const idle = [...this.idle.values()].map((s): PoolEntry => [s.name, s.address, Math.max(0, now - s.usedAt)]);
    const held = [...this.byName.values()].filter((s) => s.holds > 0).map((s): PoolEntry => [s.name, s.address, 0]);
    return [...idle, ...held];
  }

  /**
   * Re-creates mappings saved by `entries`; ones outside this block are skipped, and past capacity
   * the least recently used go. Each keeps the time since its last use, so the grace period runs on.
   */
  restore(entries: readonly PoolEntry[]): void {
    const now = this.now();
    for (const [name, address, idleMs] of entries) {
      const offset = offsetOf(this.cidr, address);
      if (offset === undefined || offset < 1n || offset > this.lastUsable || this.byAddress.has(address)) continue;
      const previous = this.byName.get(name);
      if (previous !== undefined) this.remove(previous);
      if (this.byName.size >= this.capacity) this.remove(this.oldestIdle()!);
      this.add(name, address, now - idleMs);
      if (offset >= this.cursor) this.cursor = offset + 1n;
    }
  }

  private oldestIdle(): Slot | undefined {
    return this.idle.values().next().value;
  }

  private touch(slot: Slot): void {
    slot.usedAt = this.now();
    if (slot.holds > 0) return;
    this.idle.delete(slot.address);
    this.idle.set(slot.address, slot);
  }

  private add(name: string, address: string, usedAt: number): void {
    const slot: Slot = { name, address, usedAt, holds: 0 };
    this.byName.set(name, slot);
    this.byAddress.set(address, slot);
    this.idle.set(address, slot);
  }

  private remove(slot: Slot): void {
    this.byName.delete(slot.name);
    this.byAddress.delete(slot.address);
    this.idle.delete(slot.address);
  }
}
