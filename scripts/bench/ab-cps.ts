/**
 * Connections/s and CPU per 1,000 of two or more socksgate builds (and redsocks with `splice = off`
 * as the yardstick), interleaved in one lab so that they share the machine's load: for finding
 * which change moved the per-connection cost. Prints each round and the medians.
 *
 * --warmup S: S seconds of unmeasured load before each sample (default: the bench's, CPS_WARM_UP_S).
 *
 *   sudo node --import tsx scripts/bench/ab-cps.ts [--rounds 5] [--seconds 3] [--warmup 5] LABEL=path/to/dist/main.js ...
 */
import { createLab } from '../../test/e2e/lab.js';
import { startServers } from './bench-lab.js';
import { CPS_WARM_UP_S, runCps } from './measure-cps.js';
import { setSocksgateMain, withVariant } from './socksifiers.js';
import { abCommandLine, median } from './util.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--warmup');
  const warmup = at >= 0 ? Number(argv.splice(at, 2)[1]) : CPS_WARM_UP_S;
  const { rounds, seconds, builds } = abCommandLine(argv);
  const lab = await createLab();
  const samples = new Map<string, { rps: number[]; cpu: number[] }>();
  try {
    const servers = await startServers(lab, {});
    const url = servers.nginx.url('/small.txt');
    for (let round = 1; round <= rounds; round++) {
      for (const [label, main] of [...builds, ['redsocks-nosplice', ''] as [string, string]]) {
        if (main) setSocksgateMain(main);
        const sample = await withVariant(lab, main ? 'socksgate' : 'redsocks-nosplice', servers.dante, { tag: `ab-${label}-${round}` }, (running) => runCps(lab, running, url, seconds, warmup));
        const s = samples.get(label) ?? { rps: [], cpu: [] };
        s.rps.push(sample.rps);
        s.cpu.push(sample.cpuPer1k);
        samples.set(label, s);
        console.log(`round ${round} ${label}: ${sample.rps.toFixed(0)} conn/s, ${sample.cpuPer1k.toFixed(3)} CPU s/1,000, errors ${sample.errors}`);
      }
    }
  } finally {
    await lab.destroy();
  }
  const base = samples.get('redsocks-nosplice')!;
  for (const [label, s] of samples) {
    console.log(`${label}: median ${median(s.rps).toFixed(0)} conn/s (${(median(s.rps) / median(base.rps)).toFixed(2)}×), ${median(s.cpu).toFixed(3)} CPU s/1,000 (${(median(s.cpu) / median(base.cpu)).toFixed(2)}×)`);
  }
}

await main();
