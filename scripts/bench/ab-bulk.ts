/**
 * Bulk TCP (iperf3) of two or more socksgate builds and any peers, interleaved in one lab so that
 * they share the machine's load: for finding which change moved CPU s/GiB. Prints each round and
 * the medians, as ratios to the first label: throughput, the socksifier's CPU per GiB, Dante's and
 * the iperf3 server's, and the whole path's (measure-bulk.ts). With --strace, `strace -c -f` is attached to each
 * daemon for the runs instead and the system calls per GiB are printed (strace slows everything:
 * its throughput and CPU are not figures, its counts are).
 *
 *   sudo node --import tsx scripts/bench/ab-bulk.ts [--rounds 5] [--seconds 3] [--cases 1u,1d,8u,8d] [--strace]
 *       LABEL=path/to/dist/main.js[,--relay,copy] ... [redsocks] [ipt2socks] [hev]
 */
import { spawnSync } from 'node:child_process';
import { createLab } from '../../test/e2e/lab.js';
import { startServers } from './bench-lab.js';
import { type BulkCase, BULK_CASES, bulkCaseName, runBulk } from './measure-bulk.js';
import { peerBinaries } from './peers.js';
import { countSyscalls } from './strace-count.js';
import { PEERS, setPeerBinaries, setSocksgateMain, type VariantId, withVariant } from './socksifiers.js';
import { median, treeCpuSeconds } from './util.js';

interface Subject {
  label: string;
  id: VariantId;
  main?: string;
  extraArgs: string[];
}

/**
 * CPU seconds of the ksoftirqd threads: network receive work that the kernel defers from the
 * sender's context to them is not in any process of the lab (machine-wide, so others' load is in it too).
 */
function softirqThreadsCpuSeconds(): number {
  const pids = spawnSync('pgrep', ['-x', 'ksoftirqd/[0-9]+'], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number);
  return pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
}

function subjects(args: string[]): Subject[] {
  return args.map((a) => {
    if ((PEERS as readonly string[]).includes(a)) return { label: a, id: a as VariantId, extraArgs: [] };
    const [label, spec] = a.split('=') as [string, string];
    const [main, ...extraArgs] = spec.split(',');
    return { label, id: 'socksgate', main: main!, extraArgs };
  });
}

function cases(spec: string): BulkCase[] {
  return spec.split(',').map((c) => {
    const m = /^(\d+)([ud])$/.exec(c);
    const found = m && BULK_CASES.find((b) => b.streams === Number(m[1]) && b.reverse === (m[2] === 'd'));
    if (!found) throw new Error(`--cases: ${c} (1u, 1d, 8u, 8d)`);
    return found;
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args.splice(i, 2)[1]! : def;
  };
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i >= 0) args.splice(i, 1);
    return i >= 0;
  };
  const rounds = Number(opt('rounds', '5'));
  const seconds = Number(opt('seconds', '3'));
  const chosen = cases(opt('cases', '1u,1d,8u,8d'));
  const strace = flag('strace');
  const list = subjects(args);
  if (list.some((s) => s.id !== 'socksgate')) setPeerBinaries(peerBinaries({}));
  const lab = await createLab();
  const gbps = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const others = new Map<string, number[]>();
  const whole = new Map<string, number[]>();
  const softirq = new Map<string, number[]>();
  const calls = new Map<string, Map<string, number>>();
  const measureCountingSyscalls = async <T extends { sample: { bytes: number } }>(pid: number, measure: () => Promise<T>, key: string): Promise<T> => {
    const { result, counts } = await countSyscalls(pid, measure);
    const gib = result.sample.bytes / 2 ** 30;
    const per = calls.get(key) ?? calls.set(key, new Map()).get(key)!;
    for (const [name, n] of counts) per.set(name, (per.get(name) ?? 0) + n.calls / gib / rounds);
    return result;
  };
  try {
    const servers = await startServers(lab, { iperf: true });
    for (let round = 1; round <= rounds; round++) {
      for (const s of list) {
        if (s.main) setSocksgateMain(s.main);
        await withVariant(lab, s.id, servers.dante, { tag: `abb-${s.label}-${round}`, extraArgs: s.extraArgs }, async (running) => {
          for (const c of chosen) {
            const key = `${bulkCaseName(c)}|${s.label}`;
            const measure = async () => {
              const softirqBefore = softirqThreadsCpuSeconds();
              const sample = await runBulk(lab, running, c, seconds);
              return { sample, softirqPerGiB: (softirqThreadsCpuSeconds() - softirqBefore) / (sample.bytes / 2 ** 30) };
            };
            const { sample, softirqPerGiB } = strace ? await measureCountingSyscalls(running.pid!, measure, key) : await measure();
            (softirq.get(key) ?? softirq.set(key, []).get(key)!).push(softirqPerGiB);
            (gbps.get(key) ?? gbps.set(key, []).get(key)!).push(sample.gbps);
            (cpu.get(key) ?? cpu.set(key, []).get(key)!).push(sample.cpuPerGiB);
            (others.get(key) ?? others.set(key, []).get(key)!).push(sample.farCpuPerGiB);
            (whole.get(key) ?? whole.set(key, []).get(key)!).push(sample.pathCpuPerGiB);
            console.log(
              `round ${round} ${bulkCaseName(c)} ${s.label}: ${sample.gbps.toFixed(2)} Gbit/s, ${sample.cpuPerGiB.toFixed(3)} CPU s/GiB (Dante and iperf3 server ${sample.farCpuPerGiB.toFixed(3)}, whole path ${sample.pathCpuPerGiB.toFixed(3)}), machine busy ${(sample.machineBusy * 100).toFixed(0)}%`,
            );
          }
        });
      }
    }
  } finally {
    await lab.destroy();
  }
  for (const c of chosen) {
    const name = bulkCaseName(c);
    const base = list[0]!.label;
    console.log(`\n${name}:`);
    for (const s of list) {
      const key = `${name}|${s.label}`;
      const g = median(gbps.get(key)!), u = median(cpu.get(key)!);
      const g0 = median(gbps.get(`${name}|${base}`)!), u0 = median(cpu.get(`${name}|${base}`)!);
      const o = median(others.get(key)!), o0 = median(others.get(`${name}|${base}`)!);
      const w = median(whole.get(key)!), w0 = median(whole.get(`${name}|${base}`)!);
      console.log(
        `  ${s.label.padEnd(14)} ${g.toFixed(2)} Gbit/s (${(g / g0).toFixed(3)}×), ${u.toFixed(3)} CPU s/GiB (${(u / u0).toFixed(3)}×), Dante + iperf3 server ${o.toFixed(3)} CPU s/GiB (${(o / o0).toFixed(3)}×), whole path ${w.toFixed(3)} CPU s/GiB (${(w / w0).toFixed(3)}×), ksoftirqd ${median(softirq.get(key)!).toFixed(3)}`,
      );
      const per = calls.get(key);
      if (per) {
        const total = [...per.values()].reduce((a, b) => a + b, 0);
        const top = [...per].sort((a, b) => b[1] - a[1]).slice(0, 10);
        console.log(`    ${total.toFixed(0)} syscalls/GiB: ${top.map(([n, v]) => `${n} ${v.toFixed(0)}`).join(', ')}`);
      }
    }
  }
}

await main();
