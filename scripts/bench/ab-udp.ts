/**
 * The UDP echo of figure 5a (measure-udp.ts: round trip of one datagram at a time, echoes/s with a
 * window, CPU per 100,000 echoes) for two or more socksgate builds and any peers, interleaved in
 * one lab so that they share the machine's load. Prints each round and the medians, as ratios to
 * the first label (CPU µs/round trip: the daemon's CPU during the round-trip run, per ping-pong). With --strace, each daemon instead gets `strace -c -f` attached for `--pings`
 * sequential ping-pongs only, and its system calls per round trip are printed (strace slows
 * everything: its times are not figures, its counts are).
 *
 *   sudo node --import tsx scripts/bench/ab-udp.ts [--rounds 5] [--seconds 3] [--pings 1000] [--strace]
 *       LABEL=path/to/dist/main.js ... [hev] [ipt2socks] [redsocks]
 */
import { createLab, type Lab } from '../../test/e2e/lab.js';
import { startBenchDante } from './bench-lab.js';
import { runUdp, runUdpRtt, startBenchUdpEcho } from './measure-udp.js';
import { peerBinaries } from './peers.js';
import { countSyscalls } from './strace-count.js';
import { PEERS, setPeerBinaries, setSocksgateMain, type VariantId, withVariant } from './socksifiers.js';
import { abCommandLine, median } from './util.js';

const FIGURES = ['rtt median ms', 'rtt p99 ms', 'echoes/s', 'CPU s/100k', 'CPU µs/round trip'] as const;

/** System calls per ping-pong of `running` over `pings` sequential ones. */
async function syscallsPerPing(lab: Lab, pid: number, pings: number): Promise<Map<string, number>> {
  await runUdpRtt(lab, 50); // the association and the JIT, before counting
  const { result: rtt, counts } = await countSyscalls(pid, () => runUdpRtt(lab, pings));
  // a fresh client socket: the set-up ping-pong of runUdpRtt counts as one more
  return new Map([...counts].map(([name, n]) => [name, n.calls / (rtt.ok + 1)]));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const take = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv.splice(i, 2)[1]! : def;
  };
  const strace = argv.includes('--strace');
  const pings = Number(take('pings', '1000'));
  const peers = argv.filter((a) => (PEERS as readonly string[]).includes(a)) as VariantId[];
  const rest = argv.filter((a) => a !== '--strace' && !peers.includes(a as VariantId));
  const { rounds, seconds, builds } = abCommandLine(rest);
  const subjects: { label: string; id: VariantId; main?: string }[] = [...builds.map(([label, main]) => ({ label, id: 'socksgate' as VariantId, main })), ...peers.map((id) => ({ label: id, id }))];
  if (peers.length > 0) setPeerBinaries(peerBinaries({}));
  const lab = await createLab();
  const figures = new Map<string, number[][]>();
  const calls = new Map<string, Map<string, number>[]>();
  try {
    await startBenchUdpEcho(lab);
    const dante = await startBenchDante(lab, { port: 1080 });
    for (let round = 1; round <= rounds; round++) {
      for (const s of subjects) {
        if (s.main) setSocksgateMain(s.main);
        await withVariant(lab, s.id, dante, { tag: `abu-${s.label}-${round}`, udp: true }, async (running) => {
          if (strace) {
            const perPing = await syscallsPerPing(lab, running.pid!, pings);
            (calls.get(s.label) ?? calls.set(s.label, []).get(s.label)!).push(perPing);
            const total = [...perPing.values()].reduce((a, b) => a + b, 0);
            console.log(`round ${round} ${s.label}: ${total.toFixed(1)} syscalls per round trip`);
            return;
          }
          const u = await runUdp(lab, running, seconds, pings);
          const row = [u.rtt.medianMs ?? NaN, u.rtt.p99Ms ?? NaN, u.rate.perSecond, u.cpuPer100k, u.cpuPerRoundTripUs];
          (figures.get(s.label) ?? figures.set(s.label, []).get(s.label)!).push(row);
          console.log(`round ${round} ${s.label}: ${FIGURES.map((f, i) => `${f} ${row[i]!.toFixed(3)}`).join(', ')}`);
        });
      }
    }
  } finally {
    await lab.destroy();
  }
  const first = subjects[0]!.label;
  if (strace) {
    for (const [label, runs] of calls) {
      const names = [...new Set(runs.flatMap((m) => [...m.keys()]))];
      const per = names.map((n) => [n, median(runs.map((m) => m.get(n) ?? 0))] as const).filter(([, v]) => v >= 0.01).sort((a, b) => b[1] - a[1]);
      const total = per.reduce((a, [, v]) => a + v, 0);
      console.log(`${label}: ${total.toFixed(2)} syscalls per round trip: ${per.map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')}`);
    }
    return;
  }
  const base = figures.get(first)!;
  for (const [label, rows] of figures) {
    const cells = FIGURES.map((f, i) => {
      const m = median(rows.map((r) => r[i]!));
      return `${f} ${m.toFixed(3)} (${(m / median(base.map((r) => r[i]!))).toFixed(2)}×)`;
    });
    console.log(`${label}: median ${cells.join(', ')}`);
  }
}

await main();
