/**
 * Summarizes V8 .cpuprofile files (node --cpu-prof) by self time: the top functions and the share
 * of GC / native / idle. Used by run.ts --profile; also runnable by hand:
 *
 *   node --import tsx scripts/bench/prof-summary.ts bench-out/prof/*.cpuprofile
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export function summarizeProfile(file: string, top = 25): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; charge the gap after a sample to that sample
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + dt);
  }
  const keyOf = (n: ProfileNode) => {
    const cf = n.callFrame;
    const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(node_modules|dist|src)\//, '$1/')}:${cf.lineNumber + 1}` : '';
    return `${cf.functionName || '(anonymous)'} ${where}`.trim();
  };
  const agg = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const key = keyOf(byId.get(id)!);
    agg.set(key, (agg.get(key) ?? 0) + us);
    total += us;
  }
  // inclusive ("total") time of socksgate's own functions (dist/), recursion counted once
  const inclusive = new Map<string, number>();
  const walk = (id: number, open: Set<string>): number => {
    const n = byId.get(id)!;
    let us = selfUs.get(id) ?? 0;
    const key = keyOf(n);
    const mine = n.callFrame.url.includes('/dist/') && !open.has(key);
    if (mine) open.add(key);
    for (const c of n.children ?? []) us += walk(c, open);
    if (mine) {
      open.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
    return us;
  };
  const childIds = new Set(p.nodes.flatMap((n) => n.children ?? []));
  for (const n of p.nodes) if (!childIds.has(n.id)) walk(n.id, new Set());
  const idle = agg.get('(idle)') ?? 0;
  const busy = total - idle;
  const rows = [...agg.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [
    `${path.basename(file)}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (not idle)`,
    ...rows.map(([k, us]) => `  ${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${k}`),
    '  socksgate functions, inclusive (self + callees):',
    ...[...inclusive.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, us]) => `  ${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${k}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) console.log(summarizeProfile(f) + '\n');
}
