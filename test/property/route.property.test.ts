// The route's compiled sets against brute-force references: CidrSet (sorted merged ranges, binary
// search) against "does any prefix share the address's top bits", on random IPv4 and IPv6 prefixes
// written every way a list file or a flow may write them.
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { validateConfig } from '../../src/config/load.js';
import { addrOf } from '../../src/core/addr.js';
import { compileRoute } from '../../src/route/compile.js';
import { CidrSet } from '../../src/route/match/cidr-set.js';
import { ipv4Word, ipv6Words } from '../../src/route/match/ip-words.js';
import { DomainSet } from '../../src/route/match/domain-set.js';
import { PortSet } from '../../src/route/match/port-set.js';

const RUNS = { numRuns: 300 };

// ---- addresses as numbers, and as text ----

type Family = 'v4' | 'v6';
const WIDTH: Record<Family, number> = { v4: 32, v6: 128 };
const MAPPED_BASE = 0xffffn << 32n;

interface Prefix {
  readonly family: Family;
  readonly value: bigint;
  readonly len: number;
}

function network(family: Family, value: bigint, len: number): bigint {
  const shift = BigInt(WIDTH[family] - len);
  return (value >> shift) << shift;
}

function v4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
}

function v6Groups(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - i * 16)) & 0xffffn));
}

/** `::` in place of the longest run of two or more zero groups (the leftmost on a tie). */
function compressed(groups: readonly string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && /^0+$/.test(groups[j])) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Ways of writing an IPv6 address: compressed, all eight groups, upper case, padded, and with a dotted tail. */
const V6_STYLES = ['compressed', 'full', 'upper', 'padded', 'dotted', 'dotted-full'] as const;
type V6Style = (typeof V6_STYLES)[number];

function v6Text(value: bigint, style: V6Style): string {
  const hex = v6Groups(value).map((g) => g.toString(16));
  switch (style) {
    case 'compressed':
      return compressed(hex);
    case 'full':
      return hex.join(':');
    case 'upper':
      return compressed(hex).toUpperCase();
    case 'padded':
      return hex.map((g) => g.padStart(4, '0')).join(':');
    case 'dotted': {
      const head = compressed(hex.slice(0, 6));
      return `${head}${head.endsWith(':') ? '' : ':'}${v4Text(value & 0xffffffffn)}`;
    }
    case 'dotted-full':
      return `${hex.slice(0, 6).join(':')}:${v4Text(value & 0xffffffffn)}`;
  }
}

/** How a set and its reference see an address: IPv4-mapped IPv6 is its IPv4 address. */
function familyOf(family: Family, value: bigint): { family: Family; value: bigint } {
  return family === 'v6' && value >> 32n === 0xffffn ? { family: 'v4', value: value & 0xffffffffn } : { family, value };
}

/** A prefix inside ::ffff:0:0/96 is the IPv4 prefix it maps; any other IPv6 prefix never holds an IPv4 address. */
function prefixFamily(p: Prefix): Prefix {
  if (p.family === 'v6' && p.len >= 96 && p.value >> 32n === 0xffffn) return { family: 'v4', value: p.value & 0xffffffffn, len: p.len - 96 };
  return p;
}

function referenceHas(prefixes: readonly Prefix[], family: Family, value: bigint): boolean {
  const addr = familyOf(family, value);
  return prefixes.some((raw) => {
    const p = prefixFamily(raw);
    return p.family === addr.family && network(p.family, addr.value, p.len) === network(p.family, p.value, p.len);
  });
}

// ---- generators ----

const v4Value = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
const v6Value = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
  // Mostly zero groups, so `::` and the v4-mapped range come up.
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xffff })).map(([at, g]) => BigInt(g) << BigInt(at * 16)),
  v4Value.map((v) => MAPPED_BASE | v),
);
const lenOf = (family: Family) => fc.oneof(fc.constantFrom(0, WIDTH[family]), fc.integer({ min: 0, max: WIDTH[family] }));

const randomPrefix: fc.Arbitrary<Prefix> = fc.oneof(
  fc.tuple(v4Value, lenOf('v4')).map(([value, len]) => ({ family: 'v4' as const, value, len })),
  fc.tuple(v6Value, lenOf('v6')).map(([value, len]) => ({ family: 'v6' as const, value, len })),
  // The mapped range, so its prefixes of 96 and more become IPv4 ones.
  fc.tuple(v4Value, fc.integer({ min: 90, max: 128 })).map(([v, len]) => ({ family: 'v6' as const, value: MAPPED_BASE | v, len })),
);

/** Prefixes related to earlier ones: the same network longer or shorter (overlapping), and the next block (adjacent). */
const prefixes: fc.Arbitrary<Prefix[]> = fc
  .tuple(fc.array(randomPrefix, { minLength: 1, maxLength: 12 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom('longer', 'shorter', 'next', 'previous'), fc.nat()), { maxLength: 12 }))
  .map(([base, derived]) => {
    const out = [...base];
    for (const [pick, how, n] of derived) {
      const p = out[pick % out.length];
      const width = WIDTH[p.family];
      const max = (1n << BigInt(width)) - 1n;
      if (how === 'longer') out.push({ ...p, len: p.len + (n % (width - p.len + 1)) });
      else if (how === 'shorter') out.push({ ...p, len: n % (p.len + 1) });
      else {
        const step = 1n << BigInt(width - p.len);
        const value = network(p.family, p.value, p.len) + (how === 'next' ? step : -step);
        if (value >= 0n && value <= max) out.push({ ...p, value });
      }
    }
    return out;
  });

const v6Style = fc.constantFrom(...V6_STYLES);

function prefixText(p: Prefix, style: V6Style, withLen: boolean): string {
  const host = p.family === 'v4' ? v4Text(p.value) : v6Text(p.value, style);
  // Without /len an address stands for itself: only for full-length prefixes.
  return withLen || p.len !== WIDTH[p.family] ? `${host}/${p.len}` : host;
}

/** Addresses at and around each prefix's edges (where a binary search goes wrong), and random ones. */
function probes(list: readonly Prefix[], extra: readonly { family: Family; value: bigint }[]): { family: Family; value: bigint }[] {
  const out = [...extra];
  for (const p of list) {
    const width = WIDTH[p.family];
    const max = (1n << BigInt(width)) - 1n;
    const start = network(p.family, p.value, p.len);
    const end = start + (1n << BigInt(width - p.len)) - 1n;
    for (const value of [start - 1n, start, p.value, end, end + 1n]) if (value >= 0n && value <= max) out.push({ family: p.family, value });
  }
  return out;
}

const randomAddress = fc.oneof(v4Value.map((value) => ({ family: 'v4' as const, value })), v6Value.map((value) => ({ family: 'v6' as const, value })));

test('CidrSet agrees with a brute-force prefix check on random IPv4/IPv6 prefixes, edges and v4-mapped forms', () => {
  fc.assert(
    fc.property(prefixes, fc.array(randomAddress, { maxLength: 20 }), v6Style, fc.boolean(), v6Style, (list, extra, prefixStyle, withLen, addrStyle) => {
      const set = CidrSet.of(list.map((p) => prefixText(p, prefixStyle, withLen)));
      for (const { family, value } of probes(list, extra)) {
        const expected = referenceHas(list, family, value);
        const texts = family === 'v4' ? [v4Text(value), v6Text(MAPPED_BASE | value, addrStyle)] : [v6Text(value, addrStyle)];
        const lookups = family === 'v4' ? [{ family: 'v4' as const, value }, { family: 'v6' as const, value: MAPPED_BASE | value }] : [{ family, value }];
        texts.forEach((text, i) => assert.equal(set.has(text), referenceHas(list, lookups[i].family, lookups[i].value), `${text} in [${list.map((p) => prefixText(p, prefixStyle, withLen))}]`));
        assert.equal(set.has(texts[0]), expected);
      }
    }),
    RUNS,
  );
});

/** The brute-force check's answers, by binary search over the prefixes joined into sorted ranges per family. */
function mergedReference(list: readonly Prefix[]): (family: Family, value: bigint) => boolean {
  const ranges = mergedRanges(list);
  return (rawFamily, rawValue) => {
    const { family, value } = familyOf(rawFamily, rawValue);
    const merged = ranges[family];
    let lo = 0;
    let hi = merged.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (merged[mid][0] <= value) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && value <= merged[hi][1];
  };
}

test('big CidrSets (indexed by the top 16 bits) agree with a reference merge of their prefixes at every prefix edge', () => {
  // Per family, over a thousand long prefixes in one or two /16 blocks (so the set indexes its
  // ranges and a bucket holds many), and a few short ones spanning several buckets.
  const block = fc.bigInt({ min: 0n, max: (1n << 16n) - 1n });
  const dense = (family: Family, blocks: bigint[], picks: [number, bigint, number][]): Prefix[] =>
    picks.map(([b, bits, n]) => {
      const width = WIDTH[family];
      const value = (blocks[b % blocks.length] << BigInt(width - 16)) | (bits & ((1n << BigInt(width - 16)) - 1n));
      return { family, value, len: width - (n % 3) };
    });
  const picks = fc.array(fc.tuple(fc.nat(), fc.bigInt({ min: 0n, max: (1n << 112n) - 1n }), fc.nat()), { minLength: 1200, maxLength: 1300 });
  const short = fc.oneof(
    fc.tuple(v4Value, fc.integer({ min: 8, max: 15 })).map(([value, len]) => ({ family: 'v4' as const, value, len })),
    fc.tuple(v6Value, fc.integer({ min: 8, max: 15 })).map(([value, len]) => ({ family: 'v6' as const, value, len })),
  );
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 2 }), picks, fc.array(block, { minLength: 1, maxLength: 2 }), picks, fc.array(short, { maxLength: 5 }), (v4Blocks, v4Picks, v6Blocks, v6Picks, wide) => {
      const list = [...dense('v4', v4Blocks, v4Picks), ...dense('v6', v6Blocks, v6Picks), ...wide];
      const set = CidrSet.of(list.map((p) => prefixText(p, 'compressed', true)));
      // Every edge of every prefix; a reference that joins the prefixes into sorted ranges keeps that fast.
      const has = mergedReference(list);
      for (const { family, value } of probes(list, [])) {
        const text = family === 'v4' ? v4Text(value) : v6Text(value, 'compressed');
        assert.equal(set.has(text), has(family, value), text);
      }
    }),
    // Shrinking arrays of a thousand prefixes takes minutes: report the first failure as found.
    { numRuns: 15, endOnFailure: true },
  );
});

/** The prefixes as inclusive ranges per family, sorted, overlapping and adjacent ones joined. */
function mergedRanges(list: readonly Prefix[]): Record<Family, [bigint, bigint][]> {
  const out: Record<Family, [bigint, bigint][]> = { v4: [], v6: [] };
  for (const family of ['v4', 'v6'] as const) {
    const sorted = list
      .map(prefixFamily)
      .filter((p) => p.family === family)
      .map((p) => {
        const start = network(family, p.value, p.len);
        return [start, start + (1n << BigInt(WIDTH[family] - p.len)) - 1n] as [bigint, bigint];
      })
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (const [start, end] of sorted) {
      const last = out[family][out[family].length - 1];
      if (last && start <= last[1] + 1n) last[1] = end > last[1] ? end : last[1];
      else out[family].push([start, end]);
    }
  }
  return out;
}

test('CidrSet joins overlapping and adjacent prefixes into as few ranges as there can be', () => {
  fc.assert(
    fc.property(prefixes, (list) => {
      const set = CidrSet.of(list.map((p) => prefixText(p, 'compressed', true)));
      const { v4, v6 } = mergedRanges(list);
      assert.equal(set.ranges, v4.length + v6.length);
    }),
    RUNS,
  );
});

test('ipv6Words reads what Node takes for IPv6 (as the URL parser normalizes it) and refuses the rest', () => {
  const words = new Uint32Array(4);
  const asText = () => compressed(Array.from(words, (w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).flat());
  const garbled = fc.stringMatching(/^[0-9a-fA-F:.]{0,20}$/);
  fc.assert(
    fc.property(fc.oneof(fc.ipV6(), garbled, fc.tuple(fc.ipV6(), garbled).map(([a, b]) => a + b)), (text) => {
      const ok = ipv6Words(text, words);
      assert.equal(ok, isIPv6(text), text);
      if (ok) assert.equal(asText(), new URL(`http://[${text}]/`).hostname.slice(1, -1), text);
    }),
    { numRuns: 3000 },
  );
});

test('ipv4Word reads exactly the dotted quads Node takes', () => {
  const garbled = fc.stringMatching(/^[0-9.]{0,16}$/);
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), garbled), (text) => {
      const word = ipv4Word(text);
      assert.equal(word >= 0, isIPv4(text), text);
      if (word >= 0) assert.equal(v4Text(BigInt(word)), text);
    }),
    { numRuns: 3000 },
  );
});

// ---- domains and ports ----

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const domainName = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));

function referenceDomain(exact: readonly string[], suffixes: readonly string[], name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  return exact.includes(n) || suffixes.some((s) => n === s || n.endsWith(`.${s}`));
}

test('DomainSet agrees with a brute-force exact/suffix check, whatever the case and a trailing dot', () => {
  fc.assert(
    fc.property(fc.array(domainName, { maxLength: 6 }), fc.array(domainName, { maxLength: 6 }), fc.array(domainName, { maxLength: 10 }), fc.boolean(), fc.boolean(), (exact, suffixes, names, upper, dot) => {
      const set = new DomainSet();
      exact.forEach((n) => set.addExact(n));
      suffixes.forEach((n) => set.addSuffix(n));
      // Names under the listed ones, and names that only end with the same characters.
      const asked = [...names, ...suffixes.map((s) => `a.${s}`), ...suffixes.map((s) => `x${s}`), ...exact.map((e) => `a.${e}`), ...exact];
      for (const name of asked) {
        const written = `${upper ? name.toUpperCase() : name}${dot ? '.' : ''}`;
        assert.equal(set.has(written), referenceDomain(exact, suffixes, name), written);
      }
    }),
    RUNS,
  );
});

test('PortSet agrees with a brute-force range check', () => {
  const range = fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 300 })).map(([low, span]) => [low, Math.min(65535, low + span)] as const);
  fc.assert(
    fc.property(fc.array(range, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 30 }), (ranges, ports) => {
      const set = new PortSet();
      ranges.forEach(([low, high]) => set.add(low === high ? low : `${low}-${high}`));
      for (const port of [...ports, ...ranges.flatMap(([low, high]) => [low - 1, low, high, high + 1])]) {
        if (port < 0 || port > 65535) continue;
        assert.equal(set.has(port), ranges.some(([low, high]) => port >= low && port <= high), String(port));
      }
    }),
    RUNS,
  );
});

// ---- whole routes ----

interface RefRule {
  cidr?: Prefix[];
  source?: Prefix[];
  domainSuffix?: string[];
  port?: [number, number];
  network?: 'tcp' | 'udp';
}

const refRule: fc.Arbitrary<RefRule> = fc
  .record(
    {
      cidr: fc.array(randomPrefix, { minLength: 1, maxLength: 3 }),
      source: fc.array(randomPrefix, { minLength: 1, maxLength: 2 }),
      domainSuffix: fc.array(domainName, { minLength: 1, maxLength: 3 }),
      port: fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]),
      network: fc.constantFrom('tcp' as const, 'udp' as const),
    },
    { requiredKeys: [] },
  )
  .filter((r) => Object.keys(r).length > 0);

const refFlow = fc.record({
  dst: randomAddress,
  src: randomAddress,
  port: fc.integer({ min: 0, max: 100 }),
  network: fc.constantFrom('tcp' as const, 'udp' as const),
  host: fc.option(domainName, { nil: undefined }),
});

test('a compiled route decides as a naive reading of its rules: first rule whose every matcher matches, else final', () => {
  const outbound = { name: 'up', server: addrOf('198.51.100.1', 1080), dial: () => Promise.reject(new Error('none')), associate: () => Promise.reject(new Error('none')) };
  const text = (p: Prefix) => prefixText(p, 'compressed', true);
  const addrText = (a: { family: Family; value: bigint }) => (a.family === 'v4' ? v4Text(a.value) : v6Text(a.value, 'compressed'));
  fc.assert(
    fc.property(fc.array(refRule, { maxLength: 6 }), fc.array(refFlow, { minLength: 1, maxLength: 20 }), (rules, flows) => {
      const config = validateConfig({
        upstreams: [{ name: 'up', url: 'socks5://198.51.100.1:1080' }],
        route: {
          rules: rules.map((r) => ({
            ...(r.cidr ? { cidr: r.cidr.map(text) } : {}),
            ...(r.source ? { source: r.source.map(text) } : {}),
            ...(r.domainSuffix ? { domain_suffix: r.domainSuffix } : {}),
            ...(r.port ? { port: [`${r.port[0]}-${r.port[1]}`] } : {}),
            ...(r.network ? { network: r.network } : {}),
            action: 'direct',
          })),
        },
      });
      const route = compileRoute(config.route, { upstream: () => outbound, direct: outbound, reject: outbound }, outbound);
      // One route, many flows in a row: nothing of one decision may leak into the next.
      for (const f of flows) {
        const expected = rules.findIndex(
          (r) =>
            (!r.cidr || referenceHas(r.cidr, f.dst.family, f.dst.value)) &&
            (!r.source || referenceHas(r.source, f.src.family, f.src.value)) &&
            (!r.domainSuffix || (f.host !== undefined && referenceDomain([], r.domainSuffix, f.host))) &&
            (!r.port || (f.port >= r.port[0] && f.port <= r.port[1])) &&
            (!r.network || r.network === f.network),
        );
        const query = { network: f.network, inbound: 'redirect' as const, src: addrOf(addrText(f.src), 1), dst: addrOf(addrText(f.dst), f.port), ...(f.host ? { host: f.host } : {}) };
        assert.equal(route.decide(query).index, expected);
      }
    }),
    RUNS,
  );
});
