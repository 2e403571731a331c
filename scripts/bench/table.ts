/**
 * The benchmark's markdown: one table per group of figures (bulk TCP, time to first byte,
 * connections, memory, start-up, UDP, DNS), each with the columns measured in it and a
 * "socksgate ÷ best peer" column (best of the C peers: highest for ↑ figures, lowest for ↓), then
 * the details and notes (table-details.ts). A peer that cannot do a group's figures is shown as
 * n/a with why in a footnote.
 */
import { DNS_ABSENT, type DnsLatency } from './measure-dns.js';
import { STEADY_MS } from './measure-memory.js';
import type { Results } from './results.js';
import { LABELS, PEERS, type VariantId } from './socksifiers.js';
import { renderDetails } from './table-details.js';
import { renderInbound } from './table-inbound.js';
import { fmt, ratio } from './table-format.js';
import { median } from './util.js';

type Cells = Partial<Record<VariantId, number>>;

interface Row {
  label: string;
  better: 'higher' | 'lower' | '';
  cells: Cells;
}

interface Group {
  title: string;
  rows: Row[];
  /** Columns shown as n/a in this group, and why. */
  absent?: Partial<Record<VariantId, string>>;
  /** More ratio columns: [numerator, denominator]. */
  ratios?: [VariantId, VariantId][];
  /** Lines printed under the table. */
  after?: string[];
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
  ipt2socks: 'ipt2socks',
  hev: 'hev',
};

const SUPERSCRIPT = ['¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

function medians<T>(byVariant: Partial<Record<VariantId, T[]>>, pick: (s: T) => number): Cells {
  const out: Cells = {};
  for (const [id, s] of Object.entries(byVariant) as [VariantId, T[]][]) if (s.length) out[id] = median(s.map(pick));
  return out;
}

function withoutDirect(c: Cells): Cells {
  const { direct: _direct, ...rest } = c;
  return rest;
}

/** "0.97× (hev)": socksgate over the best peer in this row, naming it. */
function versusBestPeer(row: Row): string {
  const sg = row.cells.socksgate;
  if (!row.better || sg === undefined || !Number.isFinite(sg)) return '–';
  const peers = PEERS.filter((p) => Number.isFinite(row.cells[p]));
  if (!peers.length) return '–';
  const best = peers.reduce((a, b) => ((row.better === 'higher' ? row.cells[b]! > row.cells[a]! : row.cells[b]! < row.cells[a]!) ? b : a));
  const r = ratio(sg, row.cells[best]);
  return r === '–' ? r : `${r} (${SHORT[best]})`;
}

function renderGroup(g: Group, order: readonly VariantId[], label: (id: VariantId) => string): string[] {
  const cols = order.filter((id) => g.absent?.[id] || g.rows.some((r) => Number.isFinite(r.cells[id])));
  if (!cols.length) return [];
  const notes: string[] = [];
  const absentMark: Partial<Record<VariantId, string>> = {};
  for (const id of cols) {
    const why = g.absent?.[id];
    if (!why) continue;
    const same = notes.indexOf(why);
    absentMark[id] = `n/a${SUPERSCRIPT[same >= 0 ? same : notes.push(why) - 1]}`;
  }
  const ratios = (g.ratios ?? []).filter(([a, b]) => cols.includes(a) && cols.includes(b));
  const out = [`### ${g.title}`, ''];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  out.push(line(['figure', ...cols.map(label), 'socksgate ÷ best peer', ...ratios.map(([a, b]) => `${SHORT[a]} ÷ ${SHORT[b]}`)]));
  out.push(`|---|${[...cols, '', ...ratios].map(() => '---:').join('|')}|`);
  for (const r of g.rows) {
    const arrow = r.better === 'higher' ? ' ↑' : r.better === 'lower' ? ' ↓' : '';
    const cells = cols.map((id) => absentMark[id] ?? fmt(r.cells[id]));
    out.push(line([`${r.label}${arrow}`, ...cells, versusBestPeer(r), ...ratios.map(([a, b]) => ratio(r.cells[a], r.cells[b]))]));
  }
  out.push('');
  for (const [i, why] of notes.entries()) out.push(`${SUPERSCRIPT[i]} ${why}`);
  for (const line of g.after ?? []) out.push(line);
  if (notes.length || g.after?.length) out.push('');
  return out;
}

function bulkGroup(r: Results): Group {
  const rows: Row[] = [];
  for (const [name, byVariant] of Object.entries(r.bulk)) {
    rows.push({ label: `${name}, Gbit/s`, better: 'higher', cells: medians(byVariant, (s) => s.gbps) });
    rows.push({ label: `${name}, CPU s/GiB`, better: 'lower', cells: withoutDirect(medians(byVariant, (s) => s.cpuPerGiB)) });
    // Direct's is the two iperf3 ends alone: what the path costs without a proxy.
    rows.push({ label: `${name}, CPU s/GiB, socksifier + Dante + both iperf3 ends`, better: 'lower', cells: medians(byVariant, (s) => s.pathCpuPerGiB) });
  }
  return { title: 'Bulk TCP (iperf3)', rows };
}

function ttfbGroup(r: Results): Group {
  const rows: Row[] = [];
  const t = r.ttfb;
  if (!t) return { title: '', rows };
  const directMs = t.noAuth.direct ? median(t.noAuth.direct.ttfbMs) : NaN;
  for (const [label, set] of [
    ['no auth', t.noAuth],
    ['username/password', t.auth],
  ] as const) {
    const ms: Cells = {};
    const rt: Cells = {};
    for (const [id, s] of Object.entries(withDirect(set, t.noAuth.direct)) as [VariantId, { ttfbMs: number[] }][]) {
      if (!s.ttfbMs.length) continue;
      ms[id] = median(s.ttfbMs);
      rt[id] = (ms[id]! - directMs) / t.measuredRttMs + 2;
    }
    rows.push({ label: `${label}, round trips (RTT ${t.nominalRttMs} ms)`, better: 'lower', cells: rt });
    if (set === t.auth) {
      const excl: Cells = {};
      for (const [id, v] of Object.entries(ms) as [VariantId, number][]) excl[id] = id === 'direct' ? 2 : (v - t.danteLoginMs - directMs) / t.measuredRttMs + 2;
      rows.push({ label: `${label}, round trips excl. Dante's login time (${t.danteLoginMs.toFixed(1)} ms)`, better: 'lower', cells: excl });
    }
    rows.push({ label: `${label}, ms`, better: 'lower', cells: ms });
  }
  return { title: 'Time to first byte (curl, 20 ms link)', rows };
}

/** The auth set with direct's no-auth samples (direct has no login). */
function withDirect<T>(set: Partial<Record<VariantId, T>>, direct: T | undefined): Partial<Record<VariantId, T>> {
  return direct ? { ...set, direct } : set;
}

function cpsGroup(r: Results): Group {
  const rows: Row[] = [];
  if (Object.keys(r.cps).length) {
    rows.push({ label: 'New connections/s (wrk -c 50, Connection: close)', better: 'higher', cells: medians(r.cps, (s) => s.rps) });
    rows.push({ label: 'CPU s per 1,000 connections', better: 'lower', cells: withoutDirect(medians(r.cps, (s) => s.cpuPer1k)) });
  }
  if (Object.keys(r.cpsCapped).length) {
    rows.push({ label: `New connections/s, each socksgate process capped at ${r.capCpus} CPU (cores to spare, emulated)`, better: 'higher', cells: medians(r.cpsCapped, (s) => s.rps) });
  }
  return { title: 'New connections', rows, ratios: [['socksgate-workers2', 'socksgate'], ['socksgate-rules', 'socksgate']] };
}

function memoryGroup(r: Results): Group {
  const m = r.meta;
  const c: Record<'per' | 'steady' | 'anon' | 'fds' | 'start' | 'idle' | 'growth' | 'back', Cells> = { per: {}, steady: {}, anon: {}, fds: {}, start: {}, idle: {}, growth: {}, back: {} };
  for (const [id, runs] of Object.entries(r.memory) as [VariantId, NonNullable<Results['memory'][VariantId]>][]) {
    if (!runs.length) continue;
    c.per[id] = median(runs.map((x) => x.waves[0]!.perConnKiB));
    const steadyRuns = runs.flatMap((x) => x.waves[0]!.perConnSteadyKiB ?? []);
    if (steadyRuns.length) c.steady[id] = median(steadyRuns);
    const anonRuns = runs.flatMap((x) => x.waves[0]!.perConnSteadyAnonKiB ?? []);
    if (anonRuns.length) c.anon[id] = median(anonRuns);
    c.fds[id] = median(runs.map((x) => x.waves[0]!.fdsPerConn));
    const starts = runs.flatMap((x) => x.startKiB ?? []);
    if (starts.length) c.start[id] = median(starts) / 1024;
    c.idle[id] = median(runs.map((x) => x.waves[0]!.idleKiB)) / 1024;
    const long = runs.find((x) => x.waves.length > 1);
    if (long) {
      c.growth[id] = long.growthKiB / 1024;
      c.back[id] = (100 * long.waves[long.waves.length - 1]!.afterKiB) / long.waves[0]!.idleKiB;
    }
  }
  const counts = [...new Set(Object.values(m.memoryCount))].join(' / ');
  const rows: Row[] = [
    { label: `RSS per idle proxied connection, KiB (${counts} connections, fresh process, idle ${STEADY_MS / 1000} s)`, better: 'lower', cells: c.steady },
    { label: 'same, anonymous memory only (RssAnon: no file-backed program pages)', better: 'lower', cells: c.anon },
    { label: 'same, 1 s after the last one opened', better: 'lower', cells: c.per },
    { label: 'File descriptors per proxied connection', better: 'lower', cells: c.fds },
    { label: 'RSS of the whole daemon at start (nothing proxied yet), MiB', better: 'lower', cells: c.start },
    { label: 'RSS idle (after a 20-connection warm-up and 4 s idle), MiB', better: 'lower', cells: c.idle },
    { label: `RSS growth from wave 1 to wave ${m.memoryWaves}, ${STEADY_MS / 1000} s after each closed, MiB`, better: 'lower', cells: c.growth },
    { label: `RSS ${STEADY_MS / 1000} s after wave ${m.memoryWaves} closed, % of RSS before wave 1`, better: 'lower', cells: c.back },
  ];
  return { title: 'Memory (idle connections through Dante)', rows: Object.keys(r.memory).length ? rows : [] };
}

function startupGroup(r: Results): Group {
  const rows: Row[] = [];
  const after: string[] = [];
  if (Object.keys(r.startupMs).length) {
    const cells = medians(r.startupMs, (x) => x);
    rows.push({ label: 'Start-up to listening, ms (incl. ip netns exec; /proc polled every ~1 ms)', better: 'lower', cells });
    const cpu = r.startupCpuMs && Object.keys(r.startupCpuMs).length ? medians(r.startupCpuMs, (x) => x) : undefined;
    if (cpu) rows.push({ label: 'CPU used by then, ms (all threads, incl. ip netns exec)', better: 'lower', cells: cpu });
    if (r.bareNodeMs.length) {
      const bare = median(r.bareNodeMs);
      after.push(
        `A bare \`node -e 0\` in the same namespace, spawn to exit (incl. ip netns exec), same run: ${fmt(bare)} ms (median of ${r.bareNodeMs.length}); socksgate ÷ bare node: ${ratio(cells.socksgate, bare)}.`,
      );
    }
    if (r.bareListenMs?.length) {
      const floor = median(r.bareListenMs);
      const cpuFloor = r.bareListenCpuMs?.length ? median(r.bareListenCpuMs) : undefined;
      after.push(
        `A bare node that listens on a TCP port, spawn to listening (timed as the socksifiers are), same run: ${fmt(floor)} ms; socksgate ÷ it: ${ratio(cells.socksgate, floor)}` +
          (cpuFloor === undefined || !cpu ? '.' : `; CPU used by then ${fmt(cpuFloor)} ms, socksgate's ÷ it: ${ratio(cpu.socksgate, cpuFloor)}.`),
      );
    }
  }
  return { title: 'Start-up', rows, after };
}

function udpGroup(r: Results): Group {
  const u = r.udp ?? {};
  const rows: Row[] = Object.keys(u).length
    ? [
        { label: 'UDP echo, datagrams/s (64 in flight)', better: 'higher', cells: medians(u, (s) => s.rate.perSecond) },
        { label: 'CPU s per 100,000 datagrams', better: 'lower', cells: withoutDirect(medians(u, (s) => s.cpuPer100k)) },
        { label: 'Round trip, median, ms', better: 'lower', cells: medians(u, (s) => s.rtt.medianMs ?? NaN) },
        { label: 'Round trip, p99, ms', better: 'lower', cells: medians(u, (s) => s.rtt.p99Ms ?? NaN) },
      ]
    : [];
  return { title: 'UDP (echo through Dante, by TPROXY)', rows };
}

function dnsGroup(r: Results): Group {
  if (!r.dns) return { title: '', rows: [] };
  const { rate, latency, rttMs } = r.dns;
  const pick = (byVariant: Partial<Record<VariantId, DnsLatency>> | undefined, f: (x: DnsLatency) => number): Cells =>
    Object.fromEntries(Object.entries(byVariant ?? {}).map(([id, x]) => [id, f(x)]));
  const rows: Row[] = [];
  for (const [names, label] of [['same', 'cached'], ['unique', 'uncached']] as const) {
    rows.push({ label: `DNS queries/s, ${label} (UDP, 64 in flight)`, better: 'higher', cells: medians(rate[names] ?? {}, (x) => x.perSecond) });
    rows.push({ label: `DNS CPU s per 10,000 queries, ${label}`, better: 'lower', cells: withoutDirect(medians(rate[names] ?? {}, (x) => x.cpuPer10k)) });
  }
  rows.push({ label: `DNS latency, uncached, round trips of a ${rttMs} ms link`, better: 'lower', cells: pick(latency.unique, (x) => x.medianMs / rttMs) });
  rows.push({ label: 'DNS latency, cached, ms', better: 'lower', cells: pick(latency.same, (x) => x.medianMs) });
  const absent = Object.fromEntries(Object.entries(DNS_ABSENT).filter(([id]) => r.meta.variants.includes(id as VariantId)));
  return { title: 'DNS', rows, absent };
}

export function renderMarkdown(r: Results): string {
  const out: string[] = [];
  const m = r.meta;
  const label = (id: VariantId) => (id === 'socksgate' && m.socksgateRelay !== 'unknown' ? `socksgate (--relay ${m.socksgateRelay}, default)` : LABELS[id]);
  out.push(`# socksgate benchmark${m.quick ? ' (--quick)' : ''}`);
  out.push('');
  out.push(
    `${m.date} · ${m.machine} · ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}${m.elapsedS ? ` · took ${Math.round(m.elapsedS)} s` : ''}`,
  );
  out.push('');
  out.push(
    `Upstream: Dante 1.4 in the proxy namespace for every proxied figure. Each figure is the median of ${m.runs} run${m.runs > 1 ? 's' : ''} ` +
      `(time to first byte: of the ${m.ttfbCount} fetches of each run, pooled). ↑ higher is better, ↓ lower is better; "socksgate ÷ best peer" divides socksgate's figure by the best of ` +
      `${PEERS.map((p) => LABELS[p]).join(', ')} in that row. CPU is the socksifier process only ` +
      `(utime+stime from /proc/PID/stat), but in the bulk rows of the whole path: the socksifier, Dante, the iperf3 server and client (direct's: the two iperf3 ends). Direct = no proxy: the proxy namespace forwards IP (ip_forward=1 there, only while direct is measured).`,
  );
  out.push('');
  for (const g of [bulkGroup(r), ttfbGroup(r), cpsGroup(r), memoryGroup(r), startupGroup(r), udpGroup(r), dnsGroup(r)]) {
    if (g.rows.length) out.push(...renderGroup(g, m.variants, label));
  }
  out.push(...renderInbound(r).table);
  out.push(...renderDetails(r, m.variants.map((id) => ({ id, label: label(id) }))));
  return out.join('\n');
}
