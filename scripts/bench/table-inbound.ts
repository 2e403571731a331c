/**
 * The markdown table of figure 6 (figure-inbound.ts): socksgate's proxy inbound, microsocks and
 * Dante as SOCKS5 servers, medians of the runs, with "socksgate ÷ microsocks" and "socksgate ÷
 * Dante" columns, and each figure's runs as median [min–max] for the details.
 */
import { INBOUND_LABELS, INBOUND_SERVERS, type InboundServer } from './measure-inbound.js';
import type { Results } from './results.js';
import { fmt, ratio, spread } from './table-format.js';
import { median } from './util.js';

interface Row {
  label: string;
  better: '↑' | '↓';
  samples: Partial<Record<InboundServer, number[]>>;
}

function rows(inbound: NonNullable<Results['inbound']>): Row[] {
  const pick = <T>(byServer: Partial<Record<InboundServer, T[]>>, f: (s: T) => number) =>
    Object.fromEntries(Object.entries(byServer).map(([id, s]) => [id, (s as T[]).map(f)])) as Row['samples'];
  const out: Row[] = [
    { label: `New connections/s (SOCKS5 CONNECT + GET + close, ${inbound.concurrency} at once)`, better: '↑', samples: pick(inbound.cps, (s) => s.perSecond) },
    { label: 'CPU s per 1,000 connections', better: '↓', samples: pick(inbound.cps, (s) => s.cpuPer1k) },
  ];
  if (inbound.cpsByName) {
    out.push({ label: 'New connections/s, the CONNECT naming the target (resolved by the server)', better: '↑', samples: pick(inbound.cpsByName, (s) => s.perSecond) });
    out.push({ label: 'CPU s per 1,000 connections to a name', better: '↓', samples: pick(inbound.cpsByName, (s) => s.cpuPer1k) });
  }
  for (const [name, byServer] of Object.entries(inbound.bulk)) {
    out.push({ label: `Bulk ${name} (curl), Gbit/s`, better: '↑', samples: pick(byServer, (s) => s.gbps) });
    out.push({ label: `Bulk ${name}, CPU s/GiB`, better: '↓', samples: pick(byServer, (s) => s.cpuPerGiB) });
  }
  return out;
}

export function renderInbound(r: Results): { table: string[]; details: string[] } {
  const inbound = r.inbound;
  if (!inbound) return { table: [], details: [] };
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const table = ['### socksgate as a SOCKS5 server (proxy inbound, route final direct)', ''];
  table.push(line(['figure', ...INBOUND_SERVERS.map((id) => INBOUND_LABELS[id]), 'socksgate ÷ microsocks', 'socksgate ÷ Dante']));
  table.push(`|---|${Array(INBOUND_SERVERS.length + 2).fill('---:').join('|')}|`);
  const details: string[] = [];
  for (const row of rows(inbound)) {
    const m = Object.fromEntries(INBOUND_SERVERS.map((id) => [id, median(row.samples[id] ?? [])])) as Record<InboundServer, number>;
    table.push(line([`${row.label} ${row.better}`, ...INBOUND_SERVERS.map((id) => fmt(m[id])), ratio(m.socksgate, m.microsocks), ratio(m.socksgate, m.dante)]));
    details.push(`- ${row.label}: ${INBOUND_SERVERS.map((id) => `${INBOUND_LABELS[id]} ${spread(row.samples[id] ?? [])}`).join('; ')}`);
  }
  const errors = INBOUND_SERVERS.map((id) => `${INBOUND_LABELS[id]} ${(inbound.cps[id] ?? []).reduce((a, s) => a + s.errors, 0)}`).join(', ');
  const busy = INBOUND_SERVERS.map((id) => `${INBOUND_LABELS[id]} ${spread((inbound.cps[id] ?? []).map((s) => s.machineBusy * 100))} %`).join(', ');
  details.push(`- SOCKS5 connections that failed or did not answer 200 (all runs): ${errors}; machine busy during connections/s: ${busy}`);
  table.push('');
  return { table, details };
}
