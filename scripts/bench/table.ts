/** The benchmark's results and their markdown rendering (scripts/bench). */
import type { BulkSample } from './measure-bulk.js';
import type { CpsSample } from './measure-cps.js';
import type { DnsLatency, DnsNames, DnsRate } from './measure-dns.js';
import { STEADY_MS, type MemoryResult } from './measure-memory.js';
import type { TtfbSamples } from './measure-ttfb.js';
import type { UdpSample } from './measure-udp.js';
import { LABELS, type VariantId } from './socksifiers.js';
import { median } from './util.js';

export interface Results {
  meta: {
    date: string;
    /** The columns, in order. */
    variants: VariantId[];
    /** What socksgate's default relay is in this build ('splice' / 'copy' / unknown). */
    socksgateRelay: string;
    quick: boolean;
    runs: number;
    bulkSeconds: number;
    cpsSeconds: number;
    memoryCount: Partial<Record<VariantId, number>>;
    memoryWaves: number;
    ttfbCount: number;
    machine: string;
    versions: Record<string, string>;
    elapsedS?: number;
  };
  /** case name → variant → samples */
  bulk: Record<string, Partial<Record<VariantId, BulkSample[]>>>;
  ttfb?: {
    nominalRttMs: number;
    measuredRttMs: number;
    /** Dante's own time to answer a username/password login (crypt(3)), no delay. */
    danteLoginMs: number;
    noAuth: Partial<Record<VariantId, TtfbSamples>>;
    auth: Partial<Record<VariantId, TtfbSamples>>;
  };
  cps: Partial<Record<VariantId, CpsSample[]>>;
  /** socksgate, one process and --workers 2, with each process capped at `capCpus` CPUs. */
  cpsCapped: Partial<Record<VariantId, CpsSample[]>>;
  capCpus?: number;
  /** One result per run (a fresh socksifier process each); the first run also has the growth waves. */
  memory: Partial<Record<VariantId, MemoryResult[]>>;
  startupMs: Partial<Record<VariantId, number[]>>;
  /** Figure 5a: one sample per run (a fresh socksifier each). */
  udp?: Partial<Record<VariantId, UdpSample[]>>;
  dns?: {
    rttMs: number;
    /** cached ('same' name) / uncached ('unique' names) → variant → one sample per run */
    rate: Partial<Record<DnsNames, Partial<Record<VariantId, DnsRate[]>>>>;
    latency: Partial<Record<DnsNames, Partial<Record<VariantId, DnsLatency>>>>;
  };
  notes: string[];
}

export function emptyResults(meta: Results['meta']): Results {
  return { meta, bulk: {}, cps: {}, cpsCapped: {}, memory: {}, startupMs: {}, notes: [] };
}

type Cells = Partial<Record<VariantId, number>>;

/** Set by renderMarkdown: the columns, and which ratios to show. */
let VARIANTS: { id: VariantId; label: string }[] = [];
let RATIOS: [VariantId, VariantId][] = [];

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

function row(label: string, better: 'higher' | 'lower' | '', cells: Cells): string {
  const cols = VARIANTS.map((v) => fmt(cells[v.id]));
  const arrow = better === 'higher' ? ' ↑' : better === 'lower' ? ' ↓' : '';
  return `| ${label}${arrow} | ${cols.join(' | ')} | ${RATIOS.map(([a, b]) => ratio(cells[a], cells[b])).join(' | ')} |`;
}

const SHORT: Record<VariantId, string> = {
  direct: 'direct',
  socksgate: 'socksgate',
  'socksgate-copy': 'socksgate copy',
  'socksgate-optimistic': 'socksgate optimistic',
  'socksgate-workers2': 'socksgate 2 workers',
  'socksgate-rules': 'socksgate 100k+100k rules',
  redsocks: 'redsocks',
  'redsocks-nosplice': 'redsocks splice=off',
};

function medians<T>(byVariant: Partial<Record<VariantId, T[]>>, pick: (s: T) => number): Cells {
  const out: Cells = {};
  for (const v of VARIANTS) {
    const s = byVariant[v.id];
    if (s && s.length) out[v.id] = median(s.map(pick));
  }
  return out;
}

function spread(values: number[]): string {
  const v = values.filter(Number.isFinite);
  if (!v.length) return '–';
  return `${fmt(median(v))} [${fmt(Math.min(...v))}–${fmt(Math.max(...v))}]`;
}

export function renderMarkdown(r: Results): string {
  const out: string[] = [];
  const m = r.meta;
  VARIANTS = m.variants.map((id) => ({ id, label: id === 'socksgate' && m.socksgateRelay !== 'unknown' ? `socksgate (--relay ${m.socksgateRelay}, default)` : LABELS[id] }));
  RATIOS = [];
  for (const sg of ['socksgate', 'socksgate-copy'] as const) {
    if (!m.variants.includes(sg)) continue;
    for (const rs of ['redsocks', 'redsocks-nosplice'] as const) if (m.variants.includes(rs)) RATIOS.push([sg, rs]);
  }
  for (const v of ['socksgate-workers2', 'socksgate-rules'] as const) if (m.variants.includes(v) && m.variants.includes('socksgate')) RATIOS.push([v, 'socksgate']);
  out.push(`# socksgate benchmark${m.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push(
    `${m.date} · ${m.machine} · ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}${m.elapsedS ? ` · took ${Math.round(m.elapsedS)} s` : ''}`,
  );
  out.push('');
  out.push(
    `Upstream: Dante 1.4 in the proxy namespace for every proxied figure. Each figure is the median of ${m.runs} runs ` +
      `(time to first byte: of ${m.ttfbCount} fetches). ↑ higher is better, ↓ lower is better. CPU is the socksifier process only ` +
      `(utime+stime from /proc/PID/stat). Direct = no proxy: the proxy namespace forwards IP (ip_forward=1 there, only while direct is measured).`,
  );
  out.push('');
  const head = VARIANTS.map((v) => v.label);
  out.push(`| figure | ${head.join(' | ')} | ${RATIOS.map(([a, b]) => `${SHORT[a]} / ${SHORT[b]}`).join(' | ')} |`);
  out.push(`|---|${head.map(() => '---:').join('|')}|${RATIOS.map(() => '---:').join('|')}|`);

  for (const [name, byVariant] of Object.entries(r.bulk)) {
    out.push(row(`Bulk TCP ${name}, Gbit/s`, 'higher', medians(byVariant, (s) => s.gbps)));
    const cpu = medians(byVariant, (s) => s.cpuPerGiB);
    delete cpu.direct;
    out.push(row(`Bulk TCP ${name}, CPU s/GiB`, 'lower', cpu));
  }
  if (r.ttfb) {
    const t = r.ttfb;
    const directMs = t.noAuth.direct ? median(t.noAuth.direct.ttfbMs) : NaN;
    for (const [label, set] of [
      ['no auth', t.noAuth],
      ['username/password', t.auth],
    ] as const) {
      const ms: Cells = {};
      const rt: Cells = {};
      for (const v of VARIANTS) {
        const s = v.id === 'direct' ? t.noAuth.direct : set[v.id];
        if (!s || !s.ttfbMs.length) continue;
        ms[v.id] = median(s.ttfbMs);
        rt[v.id] = (ms[v.id]! - directMs) / t.measuredRttMs + 2;
      }
      out.push(row(`Time to first byte, ${label}, round trips (RTT ${t.nominalRttMs} ms)`, 'lower', rt));
      if (set === t.auth) {
        const excl: Cells = {};
        for (const [id, v] of Object.entries(ms) as [VariantId, number][]) excl[id] = id === 'direct' ? 2 : (v - t.danteLoginMs - directMs) / t.measuredRttMs + 2;
        out.push(row(`Time to first byte, ${label}, round trips excl. Dante's login time (${t.danteLoginMs.toFixed(1)} ms)`, 'lower', excl));
      }
      out.push(row(`Time to first byte, ${label}, ms`, 'lower', ms));
    }
  }
  if (Object.keys(r.cps).length) {
    out.push(row('New connections/s (wrk -c 50, Connection: close)', 'higher', medians(r.cps, (s) => s.rps)));
    const cpu = medians(r.cps, (s) => s.cpuPer1k);
    delete cpu.direct;
    out.push(row('CPU s per 1,000 connections', 'lower', cpu));
  }
  if (Object.keys(r.cpsCapped ?? {}).length) {
    out.push(row(`New connections/s, each socksgate process capped at ${r.capCpus} CPU (cores to spare, emulated)`, 'higher', medians(r.cpsCapped, (s) => s.rps)));
  }
  if (Object.keys(r.memory).length) {
    const per: Cells = {};
    const steady: Cells = {};
    const fds: Cells = {};
    const idle: Cells = {};
    const growth: Cells = {};
    for (const v of VARIANTS) {
      const runs = r.memory[v.id];
      if (!runs?.length) continue;
      per[v.id] = median(runs.map((x) => x.waves[0]!.perConnKiB));
      const steadyRuns = runs.flatMap((x) => x.waves[0]!.perConnSteadyKiB ?? []);
      if (steadyRuns.length) steady[v.id] = median(steadyRuns);
      fds[v.id] = median(runs.map((x) => x.waves[0]!.fdsPerConn));
      idle[v.id] = median(runs.map((x) => x.waves[0]!.idleKiB)) / 1024;
      const long = runs.find((x) => x.waves.length > 1);
      if (long) growth[v.id] = long.growthKiB / 1024;
    }
    const counts = [...new Set(Object.values(m.memoryCount))].join(' / ');
    out.push(row(`RSS per idle proxied connection, KiB (${counts} connections, fresh process, idle ${STEADY_MS / 1000} s)`, 'lower', steady));
    out.push(row('same, 1 s after the last one opened', 'lower', per));
    out.push(row('File descriptors per proxied connection', 'lower', fds));
    out.push(row('RSS idle (after a 20-connection warm-up), MiB', 'lower', idle));
    out.push(row(`RSS growth from wave 1 to wave ${m.memoryWaves}, after each closed, MiB`, 'lower', growth));
  }
  if (r.udp && Object.keys(r.udp).length) {
    out.push(row('UDP echo, datagrams/s', 'higher', medians(r.udp, (s) => s.rate.perSecond)));
    out.push(row('UDP echo round trip, ms', 'lower', medians(r.udp, (s) => s.rtt.medianMs ?? NaN)));
    const cpu = medians(r.udp, (s) => s.cpuPer100k);
    delete cpu.direct;
    out.push(row('CPU s per 100,000 datagrams', 'lower', cpu));
  }
  if (r.dns) {
    const { rate, latency, rttMs } = r.dns;
    const pick = (byVariant: Partial<Record<VariantId, DnsLatency>> | undefined, f: (x: DnsLatency) => number): Cells =>
      Object.fromEntries(Object.entries(byVariant ?? {}).map(([id, x]) => [id, f(x)]));
    for (const [names, label] of [['same', 'cached'], ['unique', 'uncached']] as const) {
      out.push(row(`DNS queries/s, ${label} (UDP, 64 in flight)`, 'higher', medians(rate[names] ?? {}, (x) => x.perSecond)));
      const cpu = medians(rate[names] ?? {}, (x) => x.cpuPer10k);
      delete cpu.direct;
      out.push(row(`DNS CPU s per 10,000 queries, ${label}`, 'lower', cpu));
    }
    out.push(row(`DNS latency, uncached, round trips of a ${rttMs} ms link`, 'lower', pick(latency.unique, (x) => x.medianMs / rttMs)));
    out.push(row('DNS latency, cached, ms', 'lower', pick(latency.same, (x) => x.medianMs)));
  }
  if (Object.keys(r.startupMs).length) {
    out.push(row('Start-up to listening, ms (incl. ip netns exec)', 'lower', medians(r.startupMs, (x) => x)));
  }
  out.push('');

  // ---- details -----------------------------------------------------------------------------
  out.push('## Details');
  out.push('');
  out.push('Median [min–max] of the runs; "busy" is the whole machine (all cores) during the run.');
  out.push('');
  for (const [name, byVariant] of Object.entries(r.bulk)) {
    for (const v of VARIANTS) {
      const s = byVariant[v.id];
      if (!s) continue;
      out.push(
        `- bulk ${name}, ${v.label}: ${spread(s.map((x) => x.gbps))} Gbit/s, ${spread(s.map((x) => x.cpuPerGiB))} CPU s/GiB, busy ${spread(s.map((x) => x.machineBusy * 100))} %`,
      );
    }
  }
  if (r.ttfb) {
    out.push(`- delay line: nominal RTT ${r.ttfb.nominalRttMs} ms, measured (median TCP connect of the direct fetches) ${r.ttfb.measuredRttMs.toFixed(2)} ms; Dante's login answer (crypt(3)) ${r.ttfb.danteLoginMs.toFixed(1)} ms`);
    for (const [label, set] of [
      ['no auth', r.ttfb.noAuth],
      ['username/password', r.ttfb.auth],
    ] as const) {
      for (const v of VARIANTS) {
        const s = set[v.id];
        if (s) out.push(`- time to first byte, ${label}, ${v.label}: ${spread(s.ttfbMs)} ms over ${s.ttfbMs.length} fetches${s.failures ? `, ${s.failures} failed` : ''}`);
      }
    }
  }
  for (const v of VARIANTS) {
    const s = r.cps[v.id];
    if (s) {
      out.push(
        `- connections/s, ${v.label}: ${spread(s.map((x) => x.rps))} /s, ${spread(s.map((x) => x.cpuPer1k))} CPU s/1k, errors ${s.map((x) => x.errors).join('/')}, busy ${spread(s.map((x) => x.machineBusy * 100))} %`,
      );
    }
  }
  for (const v of VARIANTS) {
    const s = r.udp?.[v.id];
    if (!s) continue;
    out.push(
      `- UDP echo, ${v.label}: ${spread(s.map((x) => x.rate.perSecond))} datagrams/s, lost ${s.map((x) => x.rate.lost).join('/')} of ${s.map((x) => x.rate.sent).join('/')}; ` +
        `round trip median ${spread(s.map((x) => x.rtt.medianMs ?? NaN))} ms, p90 ${spread(s.map((x) => x.rtt.p90Ms ?? NaN))} ms, lost ${s.map((x) => x.rtt.lost).join('/')}; ` +
        `first echo (association set-up) ${spread(s.map((x) => x.rate.setupMs))} ms; ${spread(s.map((x) => x.cpuPer100k))} CPU s/100k, busy ${spread(s.map((x) => x.machineBusy * 100))} %`,
    );
  }
  for (const [names, label] of [['same', 'cached'], ['unique', 'uncached']] as const) {
    for (const v of VARIANTS) {
      const s = r.dns?.rate[names]?.[v.id];
      const l = r.dns?.latency[names]?.[v.id];
      if (!s && !l) continue;
      const rates = s ? `${spread(s.map((x) => x.perSecond))} queries/s, lost ${s.map((x) => x.lost).join('/')}, errors ${s.map((x) => x.errors).join('/')}` : '';
      out.push(`- DNS ${label}, ${v.label}: ${rates}${l ? `${rates ? '; ' : ''}latency median ${fmt(l.medianMs)} ms, p90 ${fmt(l.p90Ms)} ms, lost ${l.lost}` : ''}`);
    }
  }
  for (const v of VARIANTS) {
    for (const [i, mem] of (r.memory[v.id] ?? []).entries()) {
      const w = mem.waves
        .map(
          (x) =>
            `${x.opened} open${x.failed ? ` (${x.failed} failed)` : ''} in ${(x.openMs / 1000).toFixed(1)} s: ${(x.idleKiB / 1024).toFixed(1)} → ${(x.loadedKiB / 1024).toFixed(1)}${x.steadyKiB === undefined ? '' : ` (${(x.steadyKiB / 1024).toFixed(1)} after ${STEADY_MS / 1000} s)`} → ${(x.afterKiB / 1024).toFixed(1)} MiB` +
            (x.fdsLeft > 2 ? ` (${x.fdsLeft} fds still open)` : ''),
        )
        .join('; ');
      out.push(`- memory, ${v.label}, run ${i + 1} (${mem.count} connections per wave; RSS before → open → after close): ${w}`);
    }
  }
  for (const v of VARIANTS) {
    const s = r.startupMs[v.id];
    if (s) out.push(`- start-up to listening, ${v.label}: ${spread(s)} ms`);
  }
  if (r.notes.length) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const n of r.notes) out.push(`- ${n}`);
  }
  out.push('');
  return out.join('\n');
}
