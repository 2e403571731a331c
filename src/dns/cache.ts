import { Lru } from '../core/lru.js';
import type { AgedAnswer, WireAnswer } from './wire-answer.js';

export interface CacheLimits {
  /** Answers held at most. */
  readonly size: number;
  /** Bytes held at most (answers, their TTL offsets, keys); one answer larger than a 16th of this is not cached. */
  readonly maxBytes: number;
  readonly minTtlS: number;
  readonly maxTtlS: number;
  /** Upper bound for NXDOMAIN/NODATA (RFC 2308 suggests at most a few hours). */
  readonly maxNegativeTtlS: number;
}

interface Entry {
  readonly answer: WireAnswer;
  readonly storedAt: number;
  readonly expiresAt: number;
  readonly bytes: number;
}

/** What an entry costs besides its message, offsets and key: the objects and the map's slot. */
const ENTRY_OVERHEAD_BYTES = 256;
/** No single answer may take more than this share of the cache, so a few huge ones cannot flush it. */
const LARGEST_SHARE = 16;

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

/**
 * How long an answer may be reused, in seconds, or undefined when it must not be cached: positive
 * answers live as long as their shortest TTL, negative ones (NXDOMAIN, or NOERROR without records)
 * as long as the SOA says (RFC 2308 §5: min of the SOA's TTL and its MINIMUM). Failures never.
 */
export function cacheTtl(answer: WireAnswer, limits: CacheLimits): number | undefined {
  if (answer.rcode === 'NOERROR' && answer.minAnswerTtl !== undefined) return clamp(answer.minAnswerTtl, limits.minTtlS, limits.maxTtlS);
  if (answer.rcode !== 'NXDOMAIN' && answer.rcode !== 'NOERROR') return undefined;
  if (answer.soaTtl === undefined) return undefined;
  return clamp(answer.soaTtl, limits.minTtlS, Math.min(limits.maxTtlS, limits.maxNegativeTtlS));
}

function entryBytes(key: string, answer: WireAnswer): number {
  return answer.message.length + answer.ttlOffsets.byteLength + key.length * 2 + ENTRY_OVERHEAD_BYTES;
}

/**
 * Answers by question in wire form, bounded in count and bytes (least recently used first out),
 * each handed out with its age so the response's TTLs count down.
 */
export class DnsCache {
  private readonly entries: Lru<string, Entry>;
  private heldBytes = 0;

  constructor(
    private readonly limits: CacheLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new Lru(limits.size);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes the entries account for (see CacheLimits.maxBytes). */
  get bytes(): number {
    return this.heldBytes;
  }

  get(key: string): AgedAnswer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.expiresAt) {
      this.remove(key, entry);
      return undefined;
    }
    return { wire: entry.answer, ageS: Math.floor((now - entry.storedAt) / 1000) };
  }

  set(key: string, answer: WireAnswer): void {
    const ttl = cacheTtl(answer, this.limits);
    if (ttl === undefined || !Number.isFinite(ttl) || ttl <= 0) return;
    const bytes = entryBytes(key, answer);
    if (bytes > this.limits.maxBytes / LARGEST_SHARE) return;
    const previous = this.entries.peek(key);
    if (previous) this.remove(key, previous);
    const now = this.now();
    const evicted = this.entries.set(key, { answer, storedAt: now, expiresAt: now + ttl * 1000, bytes });
    this.heldBytes += bytes - (evicted?.[1].bytes ?? 0);
    for (let oldest = this.entries.oldest(); oldest && this.heldBytes > this.limits.maxBytes; oldest = this.entries.oldest()) {
      this.remove(...oldest);
    }
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.heldBytes -= entry.bytes;
  }
}
