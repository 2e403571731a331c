/** The "Details" section of the benchmark's markdown: each figure's runs, median [min–max], and the notes. */
import type { Results } from './results.js';
import { STEADY_MS } from './measure-memory.js';
import { fmt, spread } from './table-format.js';
import { renderInbound } from './table-inbound.js';
import type { VariantId } from './socksifiers.js';

export function renderDetails(r: Results, variants: { id: VariantId; label: string }[]): string[] {
  const out: string[] = [];
  out.push('## Details');
  out.push('');
  out.push('Median [min–max] of the runs; "busy" is the whole machine (all cores) during the run.');
  out.push('');
  for (const [name, byVariant] of Object.entries(r.bulk)) {
    for (const v of variants) {
      const s = byVariant[v.id];
      if (!s) continue;
      out.push(
        `- bulk ${name}, ${v.label}: ${spread(s.map((x) => x.gbps))} Gbit/s, ${spread(s.map((x) => x.cpuPerGiB))} CPU s/GiB, whole path ${spread(s.map((x) => x.pathCpuPerGiB))} CPU s/GiB, busy ${spread(s.map((x) => x.machineBusy * 100))} %`,
      );
    }
  }
  if (r.ttfb) {
    out.push(`- delay line: nominal RTT ${r.ttfb.nominalRttMs} ms, measured (median TCP connect of the direct fetches) ${r.ttfb.measuredRttMs.toFixed(2)} ms; Dante's login answer (crypt(3)) ${r.ttfb.danteLoginMs.toFixed(1)} ms`);
    for (const [label, set] of [
      ['no auth', r.ttfb.noAuth],
      ['username/password', r.ttfb.auth],
    ] as const) {
      for (const v of variants) {
        const s = set[v.id];
        if (s) out.push(`- time to first byte, ${label}, ${v.label}: ${spread(s.ttfbMs)} ms over ${s.ttfbMs.length} fetches${s.failures ? `, ${s.failures} failed` : ''}`);
      }
    }
  }
  for (const v of variants) {
    const s = r.cps[v.id];
    if (s) {
      out.push(
        `- connections/s, ${v.label}: ${spread(s.map((x) => x.rps))} /s, ${spread(s.map((x) => x.cpuPer1k))} CPU s/1k, errors ${s.map((x) => x.errors).join('/')}, busy ${spread(s.map((x) => x.machineBusy * 100))} %`,
      );
    }
  }
  for (const v of variants) {
    const s = r.udp?.[v.id];
    if (!s) continue;
    out.push(
      `- UDP echo, ${v.label}: ${spread(s.map((x) => x.rate.perSecond))} datagrams/s, lost ${s.map((x) => x.rate.lost).join('/')} of ${s.map((x) => x.rate.sent).join('/')}; ` +
        `round trip median ${spread(s.map((x) => x.rtt.medianMs ?? NaN))} ms, p90 ${spread(s.map((x) => x.rtt.p90Ms ?? NaN))} ms, p99 ${spread(s.map((x) => x.rtt.p99Ms ?? NaN))} ms, lost ${s.map((x) => x.rtt.lost).join('/')}; ` +
        `first echo (association set-up) ${spread(s.map((x) => x.rate.setupMs))} ms; ${spread(s.map((x) => x.cpuPer100k))} CPU s/100k, busy ${spread(s.map((x) => x.machineBusy * 100))} %`,
    );
  }
  for (const [names, label] of [['same', 'cached'], ['unique', 'uncached']] as const) {
    for (const v of variants) {
      const s = r.dns?.rate[names]?.[v.id];
      const l = r.dns?.latency[names]?.[v.id];
      if (!s && !l) continue;
      const rates = s ? `${spread(s.map((x) => x.perSecond))} queries/s, lost ${s.map((x) => x.lost).join('/')}, errors ${s.map((x) => x.errors).join('/')}` : '';
      out.push(`- DNS ${label}, ${v.label}: ${rates}${l ? `${rates ? '; ' : ''}latency median ${fmt(l.medianMs)} ms, p90 ${fmt(l.p90Ms)} ms, lost ${l.lost}` : ''}`);
    }
  }
  for (const v of variants) {
    for (const [i, mem] of (r.memory[v.id] ?? []).entries()) {
      const w = mem.waves
        .map(
          (x) =>
            `${x.opened} open${x.failed ? ` (${x.failed} failed)` : ''} in ${(x.openMs / 1000).toFixed(1)} s: ${(x.idleKiB / 1024).toFixed(1)} → ${(x.loadedKiB / 1024).toFixed(1)}${x.steadyKiB === undefined ? '' : ` (${(x.steadyKiB / 1024).toFixed(1)} after ${STEADY_MS / 1000} s)`} → ${(x.afterKiB / 1024).toFixed(1)} MiB` +
            (x.fdsLeft > 2 ? ` (${x.fdsLeft} fds still open)` : ''),
        )
        .join('; ');
      const start = mem.startKiB === undefined ? '' : `, ${(mem.startKiB / 1024).toFixed(1)} MiB at start`;
      out.push(`- memory, ${v.label}, run ${i + 1} (${mem.count} connections per wave${start}; RSS before → open → after close): ${w}`);
    }
  }
  for (const v of variants) {
    const s = r.startupMs[v.id];
    const cpu = r.startupCpuMs?.[v.id];
    if (s) out.push(`- start-up to listening, ${v.label}: ${spread(s)} ms${cpu ? `; CPU used by then ${spread(cpu)} ms` : ''}`);
  }
  if (r.bareNodeMs.length) out.push(`- bare \`node -e 0\`, spawn to exit: ${spread(r.bareNodeMs)} ms`);
  if (r.bareListenMs?.length) out.push(`- bare node listening on a TCP port, spawn to listening: ${spread(r.bareListenMs)} ms${r.bareListenCpuMs?.length ? `; CPU used by then ${spread(r.bareListenCpuMs)} ms` : ''}`);
  out.push(...renderInbound(r).details);
  if (r.notes.length) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const n of r.notes) out.push(`- ${n}`);
  }
  out.push('');
  return out;
}
