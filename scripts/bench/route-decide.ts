/**
 * Cost of the route with big lists: writes CIDRS random prefixes (half IPv4, half IPv6) and
 * DOMAINS random names into temp list files, compiles a route with a cidr_file rule, a
 * domain_file rule and a few small rules (as the daemon does: config, registry, list files), and
 * prints the compile time, the heap and RSS it added, and the cost of one decision (median, p99)
 * over DECISIONS random flows, without and with a domain name. Numbers only, no assertions.
 * Issue #15's targets: compile ≤ 1 s, ≤ 50 MB, a decision ≤ 2 µs median and ≤ 10 µs p99.
 * Run: node --expose-gc --import tsx scripts/bench/route-decide.ts [CIDRS] [DOMAINS] [DECISIONS]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { addrOf, type SocksAddr } from '../../src/core/addr.js';
import { inspectRouting } from '../../src/daemon/reload.js';
import type { RouteQuery } from '../../src/route/match/matcher.js';
import { randomGen, TLDS, v4Text, v6Text, writeRouteLists } from './route-lists.js';

const cidrCount = Number(process.argv[2] ?? 100_000);
const domainCount = Number(process.argv[3] ?? 100_000);
const decisions = Number(process.argv[4] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log('(run with node --expose-gc for memory figures that are not noise)');

const dir = mkdtempSync(join(tmpdir(), 'sg-bench-route-'));
const { prefixes, names, cidrFile, domainFile } = writeRouteLists(dir, cidrCount, domainCount);
// The flows' own stream, apart from the lists' (which stay the same whatever is measured).
const { random32, pick, randomV6, label } = randomGen(0x9e3779b9);

const config = validateConfig({
  upstreams: [
    { name: 'dante', url: 'socks5://198.51.100.1:1080' },
    { name: 'backup', url: 'http://198.51.100.1:3128' },
  ],
  route: {
    final: 'dante',
    rules: [
      { cidr: ['192.0.2.0/24', '2001:db8:3::/64'], action: 'direct' },
      { port: [25, '6881-6889'], network: 'tcp', action: 'reject' },
      { source: ['198.51.100.0/26'], action: 'direct' },
      { cidr_file: cidrFile, action: 'direct' },
      { domain: ['ads.example'], domain_keyword: ['tracker'], domain_file: domainFile, action: 'reject' },
      { domain_suffix: ['corp.example'], action: 'direct' },
      { inbound: 'tproxy', network: 'udp', port: [443], action: 'reject' },
      { domain_suffix: ['video.example'], upstream: 'backup' },
    ],
  },
});

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
gc?.();
const before = process.memoryUsage();
const compileStart = process.hrtime.bigint();
const compileCpu = process.cpuUsage();
const { route } = inspectRouting(config);
const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
const { user, system } = process.cpuUsage(compileCpu);
gc?.();
const after = process.memoryUsage();
rmSync(dir, { recursive: true });

// Flows: a third to addresses inside listed prefixes, the rest anywhere; names: half listed (or under one), half not.
const FLOWS = 65_536;
function listedAddress(): string {
  const prefix = prefixes[pick(prefixes.length)];
  const host = prefix.slice(0, prefix.indexOf('/'));
  return host;
}
function anyAddress(): string {
  return pick(2) === 0 ? v4Text(random32()) : v6Text(randomV6());
}
function flowName(): string {
  const name = names[pick(names.length)];
  return pick(2) === 0 ? (pick(2) === 0 ? name : `www.${name}`) : `${label()}.${label()}.${TLDS[pick(TLDS.length)]}`;
}
const src: SocksAddr = addrOf('192.0.2.10', 40000);
const queries = (withHost: boolean): RouteQuery[] =>
  Array.from({ length: FLOWS }, () => {
    const dst = addrOf(pick(3) === 0 ? listedAddress() : anyAddress(), pick(2) === 0 ? 443 : 1024 + pick(60000));
    const network = pick(4) === 0 ? 'udp' : 'tcp';
    return { network, inbound: network === 'udp' ? 'tproxy' : 'redirect', src, dst, ...(withHost ? { host: flowName() } : {}) };
  });

/** Nanoseconds of each of `count` decisions (the timer's own cost subtracted), sorted. */
function measure(flows: readonly RouteQuery[], count: number): { times: Float64Array; overheadNs: number; matched: number } {
  const now = process.hrtime.bigint;
  // The cost of reading the clock twice, measured the same way.
  const empty = new Float64Array(100_000);
  for (let i = 0; i < empty.length; i++) {
    const t0 = now();
    empty[i] = Number(now() - t0);
  }
  const overheadNs = empty.sort()[empty.length >> 1];
  let matched = 0;
  for (let i = 0; i < 200_000; i++) if (route.decide(flows[i & (FLOWS - 1)]).index >= 0) matched++; // warm up the JIT
  matched = 0;
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const flow = flows[i & (FLOWS - 1)];
    const t0 = now();
    const decision = route.decide(flow);
    times[i] = Math.max(0, Number(now() - t0) - overheadNs);
    if (decision.index >= 0) matched++;
  }
  return { times: times.sort(), overheadNs, matched };
}

/** CPU nanoseconds per decision over `count` decisions in a row: what a loaded machine's preemptions do not inflate. */
function cpuPerDecision(flows: readonly RouteQuery[], count: number): number {
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) route.decide(flows[i & (FLOWS - 1)]);
  const { user, system } = process.cpuUsage(cpu);
  return ((user + system) * 1000) / count;
}

const us = (ns: number) => (ns / 1000).toFixed(2);
console.log(`route: ${route.size} rules; cidr_file ${cidrCount} prefixes, domain_file ${domainCount} names`);
console.log(`compile: ${compileMs.toFixed(0)} ms (${((user + system) / 1000).toFixed(0)} ms CPU), reading and parsing both lists`);
console.log(`memory: heap +${mb(after.heapUsed - before.heapUsed)} MB, rss +${mb(after.rss - before.rss)} MB, external+arrayBuffers +${mb(after.external + after.arrayBuffers - before.external - before.arrayBuffers)} MB`);
for (const withHost of [false, true]) {
  const flows = queries(withHost);
  const { times, overheadNs, matched } = measure(flows, decisions);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(times.length * q))];
  console.log(
    `decide ${withHost ? 'with a name   ' : 'address only  '}: median ${us(at(0.5))} µs, p99 ${us(at(0.99))} µs, p99.9 ${us(at(0.999))} µs, max ${us(times[times.length - 1])} µs ` +
      `over ${decisions} decisions (${((matched / decisions) * 100).toFixed(0)}% matched a rule; clock overhead ${overheadNs} ns subtracted); ` +
      `CPU ${us(cpuPerDecision(flows, decisions))} µs a decision in a row`,
  );
}
