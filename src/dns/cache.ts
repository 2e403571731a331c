import type { Answer, RecordAnswer, SoaData } from 'dns-packet';
import { Lru } from '../core/lru.js';
import type { DnsResult } from './message.js';

export interface CacheLimits {
  readonly size: number;
  readonly minTtlS: number;
  readonly maxTtlS: number;
  /** Upper bound for NXDOMAIN/NODATA (RFC 2308 suggests at most a few hours). */
  readonly maxNegativeTtlS: number;
}

interface Entry {
  readonly result: DnsResult;
  readonly storedAt: number;
  readonly expiresAt: number;
}

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

function isRecord(a: Answer): a is RecordAnswer {
  return a.type !== 'OPT';
}

/**
 * How long an answer may be reused, in seconds, or undefined when it must not be cached: positive
 * answers live as long as their shortest TTL, negative ones (NXDOMAIN, or NOERROR without records)
 * as long as the SOA says (RFC 2308 §5: min of the SOA's TTL and its MINIMUM). Failures never.
 */
export function cacheTtl(result: DnsResult, limits: CacheLimits): number | undefined {
  const records = result.answers.filter(isRecord);
  if (result.rcode === 'NOERROR' && records.length > 0) {
    return clamp(Math.min(...records.map((r) => r.ttl ?? 0)), limits.minTtlS, limits.maxTtlS);
  }
  if (result.rcode !== 'NXDOMAIN' && result.rcode !== 'NOERROR') return undefined;
  const soa = result.authorities.filter(isRecord).find((a) => a.type === 'SOA');
  if (!soa) return undefined;
  const data = soa.data as SoaData;
  return clamp(Math.min(soa.ttl ?? 0, data.minimum), limits.minTtlS, Math.min(limits.maxTtlS, limits.maxNegativeTtlS));
}

function withTtlsReduced(list: Answer[], elapsedS: number): Answer[] {
  return list.map((a) => (isRecord(a) ? { ...a, ttl: Math.max(0, (a.ttl ?? 0) - elapsedS) } : a));
}

/** Answers by question, bounded (LRU), each handed out with its TTLs counted down. */
export class DnsCache {
  private readonly entries: Lru<string, Entry>;

  constructor(
    private readonly limits: CacheLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new Lru(limits.size);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): DnsResult | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    const elapsedS = Math.floor((now - entry.storedAt) / 1000);
    const { result } = entry;
    return { ...result, answers: withTtlsReduced(result.answers, elapsedS), authorities: withTtlsReduced(result.authorities, elapsedS) };
  }

  set(key: string, result: DnsResult): void {
    const ttl = cacheTtl(result, this.limits);
    if (ttl === undefined || !Number.isFinite(ttl) || ttl <= 0) return;
    const now = this.now();
    this.entries.set(key, { result, storedAt: now, expiresAt: now + ttl * 1000 });
  }
}
