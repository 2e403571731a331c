import { isIPv4 } from 'node:net';
import { ipv4Word, ipv6Words, isV4Mapped } from './ip-words.js';

/**
 * A set of IPv4 and IPv6 prefixes, compiled into sorted, merged ranges per family: a lookup is a
 * binary search over typed arrays (no objects per prefix), so 100,000 prefixes cost a few MB and a
 * lookup well under a microsecond.
 */
export class CidrSet {
  private constructor(
    /** Inclusive IPv4 ranges, sorted and disjoint. */
    private readonly v4Start: Uint32Array,
    private readonly v4End: Uint32Array,
    /** Inclusive IPv6 ranges, four words each, sorted and disjoint. */
    private readonly v6Start: Uint32Array,
    private readonly v6End: Uint32Array,
  ) {}

  /** Ranges after merging, for logs and tests. */
  get ranges(): number {
    return this.v4Start.length + this.v6Start.length / 4;
  }

  /** The merged ranges as nft writes interval elements: "addr" or "first-last", per family. */
  intervalTexts(): { ipv4: string[]; ipv6: string[] } {
    const v4 = (word: number) => [24, 16, 8, 0].map((shift) => (word >>> shift) & 255).join('.');
    const v6 = (words: Uint32Array, at: number) => [...words.subarray(at, at + 4)].flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':');
    const text = (first: string, last: string) => (first === last ? first : `${first}-${last}`);
    const ipv4 = [...this.v4Start].map((start, i) => text(v4(start), v4(this.v4End[i])));
    const ipv6: string[] = [];
    for (let at = 0; at < this.v6Start.length; at += 4) ipv6.push(text(v6(this.v6Start, at), v6(this.v6End, at)));
    return { ipv4, ipv6 };
  }

  /** Builds from "addr" or "addr/len" texts; throws RangeError naming the bad entry. */
  static of(prefixes: Iterable<string>): CidrSet {
    const builder = new CidrSetBuilder();
    for (const text of prefixes) builder.add(text);
    return builder.build();
  }

  /** The set of these inclusive ranges (any order, may overlap). */
  static fromRanges(v4: [number, number][], v6: [Uint32Array, Uint32Array][]): CidrSet {
    return new CidrSet(...mergeV4(v4), ...mergeV6(v6));
  }

  /** Whether `host` (an IP literal; anything else never matches) is in the set. */
  has(host: string): boolean {
    const v4 = ipv4Word(host);
    if (v4 >= 0) return this.hasV4(v4);
    if (!ipv6Words(host, scratch)) return false;
    return isV4Mapped(scratch) ? this.hasV4(scratch[3]) : this.hasV6(scratch);
  }

  hasV4(word: number): boolean {
    const starts = this.v4Start;
    let lo = 0;
    let hi = starts.length - 1;
    // The last range that starts at or before `word`.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= word) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && word <= this.v4End[hi];
  }

  hasV6(words: Uint32Array): boolean {
    const starts = this.v6Start;
    let lo = 0;
    let hi = starts.length / 4 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(starts, mid * 4, words, 0) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && compare(words, 0, this.v6End, hi * 4) <= 0;
  }
}

const scratch = new Uint32Array(4);

/** Collects prefixes one by one (so a list's errors can name their line), then compiles them. */
export class CidrSetBuilder {
  private readonly v4: [number, number][] = [];
  private readonly v6: [Uint32Array, Uint32Array][] = [];

  /** "addr" or "addr/len"; throws RangeError naming the bad entry. */
  add(text: string): void {
    const { host, len } = splitPrefix(text);
    if (isIPv4(host)) {
      if (len > 32) throw new RangeError(`"${text}": IPv4 prefix length must be 0-32`);
      this.v4.push(v4Range(ipv4Word(host), len));
      return;
    }
    const words = new Uint32Array(4);
    if (!ipv6Words(host, words)) throw new RangeError(`"${text}": expected an IPv4 or IPv6 address (no zone), optionally /prefix`);
    if (len > 128) throw new RangeError(`"${text}": IPv6 prefix length must be 0-128`);
    if (isV4Mapped(words) && len >= 96) {
      // ::ffff:a.b.c.d/len is the IPv4 prefix a.b.c.d/(len-96): flows carry the IPv4 form.
      this.v4.push(v4Range(words[3], len - 96));
      return;
    }
    this.v6.push(v6Range(words, len));
  }

  build(): CidrSet {
    return CidrSet.fromRanges(this.v4, this.v6);
  }
}

function splitPrefix(text: string): { host: string; len: number } {
  const slash = text.indexOf('/');
  if (slash < 0) return { host: text, len: text.includes(':') ? 128 : 32 };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw new RangeError(`"${text}": the prefix length must be a number`);
  return { host: text.slice(0, slash), len: Number(lenText) };
}

function v4Range(word: number, len: number): [number, number] {
  if (len === 0) return [0, 0xffffffff];
  const mask = (~0 << (32 - len)) >>> 0;
  const start = (word & mask) >>> 0;
  return [start, (start | ~mask) >>> 0];
}

function v6Range(words: Uint32Array, len: number): [Uint32Array, Uint32Array] {
  const start = new Uint32Array(4);
  const end = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, len - i * 32));
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    start[i] = (words[i] & mask) >>> 0;
    end[i] = (start[i] | ~mask) >>> 0;
  }
  return [start, end];
}

function compare(a: Uint32Array, at: number, b: Uint32Array, bt: number): number {
  for (let i = 0; i < 4; i++) {
    if (a[at + i] !== b[bt + i]) return a[at + i] < b[bt + i] ? -1 : 1;
  }
  return 0;
}

function mergeV4(ranges: [number, number][]): [Uint32Array, Uint32Array] {
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const [start, end] of ranges) {
    const last = ends.length - 1;
    // Overlapping or adjacent: one range.
    if (last >= 0 && start <= ends[last] + 1) ends[last] = Math.max(ends[last], end);
    else {
      starts.push(start);
      ends.push(end);
    }
  }
  return [Uint32Array.from(starts), Uint32Array.from(ends)];
}

/** Whether `next` is `end` + 1 (128-bit). */
function follows(next: Uint32Array, end: Uint32Array): boolean {
  let carry = 1;
  for (let i = 3; i >= 0; i--) {
    const sum = end[i] + carry;
    carry = sum > 0xffffffff ? 1 : 0;
    if (next[i] !== sum >>> 0) return false;
  }
  return carry === 0;
}

function mergeV6(ranges: [Uint32Array, Uint32Array][]): [Uint32Array, Uint32Array] {
  ranges.sort((x, y) => compare(x[0], 0, y[0], 0) || compare(x[1], 0, y[1], 0));
  const merged: [Uint32Array, Uint32Array][] = [];
  for (const [start, end] of ranges) {
    const last = merged[merged.length - 1];
    // Overlapping or adjacent: one range.
    if (last && (compare(start, 0, last[1], 0) <= 0 || follows(start, last[1]))) {
      if (compare(end, 0, last[1], 0) > 0) last[1] = end;
    } else {
      merged.push([start, end]);
    }
  }
  const starts = new Uint32Array(merged.length * 4);
  const ends = new Uint32Array(merged.length * 4);
  merged.forEach(([s, e], i) => {
    starts.set(s, i * 4);
    ends.set(e, i * 4);
  });
  return [starts, ends];
}
