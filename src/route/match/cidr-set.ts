import { IPV6_KEY, ipKey, ipv4Word, ipv6Words, isV4Mapped } from './ip-words.js';

/**
 * A set of IPv4 and IPv6 prefixes, compiled into sorted, merged ranges per family: a lookup is a
 * binary search over typed arrays (no objects per prefix), so 100,000 prefixes cost a few MB and a
 * lookup well under a microsecond. A big set also indexes its ranges by the address's top 16 bits,
 * so a lookup searches only the few ranges of that block: a couple of cache misses, not 16.
 */
export class CidrSet {
  private readonly v4Buckets: Uint32Array | undefined;
  private readonly v6Buckets: Uint32Array | undefined;

  /** From ranges sorted and disjoint, as CidrSetBuilder makes them. */
  constructor(
    /** Inclusive IPv4 ranges, sorted and disjoint. */
    private readonly v4Start: Uint32Array,
    private readonly v4End: Uint32Array,
    /** Inclusive IPv6 ranges, four words each, sorted and disjoint. */
    private readonly v6Start: Uint32Array,
    private readonly v6End: Uint32Array,
  ) {
    this.v4Buckets = bucketsOf(v4Start, 1);
    this.v6Buckets = bucketsOf(v6Start, 4);
  }

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

  /** Whether `host` (an IP literal; anything else never matches) is in the set. */
  has(host: string): boolean {
    return this.hasKey(ipKey(host, scratch), scratch);
  }

  /** Whether the address ipKey made of a host (`key`, and `words` for IPv6) is in the set. */
  hasKey(key: number, words: Uint32Array): boolean {
    return key >= 0 ? this.hasV4(key) : key === IPV6_KEY && this.hasV6(words);
  }

  hasV4(word: number): boolean {
    const starts = this.v4Start;
    const buckets = this.v4Buckets;
    const bucket = word >>> BUCKET_SHIFT;
    let lo = buckets ? buckets[bucket] : 0;
    let hi = buckets ? buckets[bucket + 1] - 1 : starts.length - 1;
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
    const buckets = this.v6Buckets;
    const bucket = words[0] >>> BUCKET_SHIFT;
    let lo = buckets ? buckets[bucket] : 0;
    let hi = buckets ? buckets[bucket + 1] - 1 : starts.length / 4 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(starts, mid * 4, words, 0) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && compare(words, 0, this.v6End, hi * 4) <= 0;
  }
}

const scratch = new Uint32Array(4);
/** Buckets by an address's top 16 bits (IPv6: of its first word), for sets of this many ranges and more. */
const BUCKET_SHIFT = 16;
const BUCKETS = 1 << 16;
const INDEXED_FROM = 1024;

/**
 * For each bucket b, the first range starting in bucket b or later (and, at BUCKETS, the count):
 * the range holding an address of bucket b is the last one starting at or before it, which is
 * among buckets[b] - 1 .. buckets[b + 1] - 1. A search of buckets[b] .. buckets[b + 1] - 1 that
 * finds none there ends at buckets[b] - 1, the one candidate before.
 */
function bucketsOf(starts: Uint32Array, stride: number): Uint32Array | undefined {
  const count = starts.length / stride;
  if (count < INDEXED_FROM) return undefined;
  const buckets = new Uint32Array(BUCKETS + 1);
  let i = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    while (i < count && starts[i * stride] >>> BUCKET_SHIFT < b) i++;
    buckets[b] = i;
  }
  return buckets;
}
/** IPv4 prefixes are kept as one number, start × 64 + host bits (exact in a double), which sorts by start. */
const V4_HOST_BITS = 64;
/** Words an IPv6 prefix takes in the builder: the start's four, then the host bits. */
const V6_STRIDE = 5;

/**
 * Collects prefixes one by one (so a list's errors can name their line), then compiles them. Kept
 * flat (numbers, one growing typed array), not an object per prefix: 100,000 prefixes compile in
 * tens of milliseconds and leave no garbage to collect.
 */
export class CidrSetBuilder {
  private readonly v4: number[] = [];
  private v6 = new Uint32Array(V6_STRIDE * 64);
  private v6Count = 0;
  private readonly words = new Uint32Array(4);

  /** "addr" or "addr/len"; throws RangeError naming the bad entry. */
  add(text: string): void {
    const slash = text.indexOf('/');
    const host = slash < 0 ? text : text.slice(0, slash);
    const lenText = slash < 0 ? undefined : text.slice(slash + 1);
    if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) throw new RangeError(`"${text}": the prefix length must be a number`);
    const v4 = ipv4Word(host);
    if (v4 >= 0) {
      const len = lenText === undefined ? 32 : Number(lenText);
      if (len > 32) throw new RangeError(`"${text}": IPv4 prefix length must be 0-32`);
      this.addV4(v4, len);
      return;
    }
    const words = this.words;
    if (!ipv6Words(host, words)) throw new RangeError(`"${text}": expected an IPv4 or IPv6 address (no zone), optionally /prefix`);
    const len = lenText === undefined ? 128 : Number(lenText);
    if (len > 128) throw new RangeError(`"${text}": IPv6 prefix length must be 0-128`);
    if (isV4Mapped(words) && len >= 96) {
      // ::ffff:a.b.c.d/len is the IPv4 prefix a.b.c.d/(len-96): flows carry the IPv4 form.
      this.addV4(words[3], len - 96);
      return;
    }
    if (this.v6.length < (this.v6Count + 1) * V6_STRIDE) {
      const grown = new Uint32Array(this.v6.length * 2);
      grown.set(this.v6);
      this.v6 = grown;
    }
    const at = this.v6Count++ * V6_STRIDE;
    for (let i = 0; i < 4; i++) this.v6[at + i] = (words[i] & wordMask(len, i)) >>> 0;
    this.v6[at + 4] = 128 - len;
  }

  build(): CidrSet {
    return new CidrSet(...mergeV4(this.v4), ...mergeV6(this.v6, this.v6Count));
  }

  private addV4(word: number, len: number): void {
    this.v4.push(((word & wordMask(len, 0)) >>> 0) * V4_HOST_BITS + (32 - len));
  }
}

/** The mask of word `i` (0-3) of a prefix of `len` bits. */
function wordMask(len: number, i: number): number {
  const bits = Math.max(0, Math.min(32, len - i * 32));
  return bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
}

function compare(a: Uint32Array, at: number, b: Uint32Array, bt: number): number {
  for (let i = 0; i < 4; i++) {
    if (a[at + i] !== b[bt + i]) return a[at + i] < b[bt + i] ? -1 : 1;
  }
  return 0;
}

/** Sorted, merged inclusive ranges of the IPv4 prefixes (start × 64 + host bits). */
function mergeV4(prefixes: readonly number[]): [Uint32Array, Uint32Array] {
  const sorted = Float64Array.from(prefixes).sort();
  const starts = new Uint32Array(sorted.length);
  const ends = new Uint32Array(sorted.length);
  let count = 0;
  for (const prefix of sorted) {
    const hostBits = prefix % V4_HOST_BITS;
    const start = (prefix - hostBits) / V4_HOST_BITS;
    const end = start + 2 ** hostBits - 1;
    // Overlapping or adjacent: one range.
    if (count > 0 && start <= ends[count - 1] + 1) ends[count - 1] = Math.max(ends[count - 1], end);
    else {
      starts[count] = start;
      ends[count++] = end;
    }
  }
  return [starts.slice(0, count), ends.slice(0, count)];
}

/** `end` + 1 into `out` (128-bit); false when `end` is the last address. */
function successor(end: Uint32Array, at: number, out: Uint32Array): boolean {
  let carry = 1;
  for (let i = 3; i >= 0; i--) {
    const sum = end[at + i] + carry;
    carry = sum > 0xffffffff ? 1 : 0;
    out[i] = sum >>> 0;
  }
  return carry === 0;
}

/** Sorted, merged inclusive ranges of `count` IPv6 prefixes (V6_STRIDE words each). */
function mergeV6(prefixes: Uint32Array, count: number): [Uint32Array, Uint32Array] {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i * V6_STRIDE;
  order.sort((x, y) => compare(prefixes, x, prefixes, y));
  const starts = new Uint32Array(count * 4);
  const ends = new Uint32Array(count * 4);
  const end = new Uint32Array(4);
  const next = new Uint32Array(4);
  let merged = 0;
  for (const at of order) {
    const hostBits = prefixes[at + 4];
    for (let i = 0; i < 4; i++) end[i] = (prefixes[at + i] | ~wordMask(128 - hostBits, i)) >>> 0;
    const last = (merged - 1) * 4;
    // Overlapping or adjacent: one range.
    if (merged > 0 && (compare(prefixes, at, ends, last) <= 0 || (successor(ends, last, next) && compare(prefixes, at, next, 0) === 0))) {
      if (compare(end, 0, ends, last) > 0) ends.set(end, last);
    } else {
      starts.set(prefixes.subarray(at, at + 4), merged * 4);
      ends.set(end, merged++ * 4);
    }
  }
  return [starts.slice(0, merged * 4), ends.slice(0, merged * 4)];
}
