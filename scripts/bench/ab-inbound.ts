/**
 * Connections/s and CPU per 1,000 connections of socksgate's proxy inbound (route final direct)
 * for two or more builds, with the CONNECTs naming the target by address and by name (resolved by
 * socksgate through the proxy namespace's /etc/hosts), interleaved in one lab so that they share
 * the machine's load: for finding what a change did to either. Build and target order alternate
 * from round to round. Prints each sample and the medians.
 *
 *   sudo node --import tsx scripts/bench/ab-inbound.ts [--rounds 5] [--seconds 3] LABEL=path/to/dist/main.js ...
 */
import { LAB_ADDR, createLab, startNginx } from '../../test/e2e/lab.js';
import { startBenchDante } from './bench-lab.js';
import { startInbound } from './figure-inbound.js';
import { INBOUND_NAME_TARGET, runInboundCps } from './measure-inbound.js';
import { setSocksgateMain } from './socksifiers.js';
import { abCommandLine, median } from './util.js';

const TARGETS = [['address', LAB_ADDR.internet], ['name', INBOUND_NAME_TARGET]] as const;

async function main(): Promise<void> {
  const { rounds, seconds, builds } = abCommandLine(process.argv.slice(2));
  const samples = new Map<string, { cps: number[]; cpu: number[]; errors: number }>();
  const lab = await createLab();
  try {
    await startNginx(lab);
    const dante = await startBenchDante(lab, { port: 1080 });
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? builds : [...builds].reverse();
      for (const [label, main] of order) {
        setSocksgateMain(main);
        const { server, proc } = await startInbound(lab, dante);
        try {
          for (const [target, host] of round % 2 ? TARGETS : [...TARGETS].reverse()) {
            const c = await runInboundCps(lab, server, seconds, host);
            const key = `${label} to ${target}`;
            const s = samples.get(key) ?? { cps: [], cpu: [], errors: 0 };
            s.cps.push(c.perSecond);
            s.cpu.push(c.cpuPer1k);
            s.errors += c.errors;
            samples.set(key, s);
            console.log(`round ${round} ${key}: ${c.perSecond.toFixed(0)} conn/s, ${c.cpuPer1k.toFixed(3)} CPU s/1,000, errors ${c.errors}, machine busy ${(c.machineBusy * 100).toFixed(0)} %`);
          }
        } finally {
          await lab.kill(proc, 12_000);
        }
      }
    }
  } finally {
    await lab.destroy();
  }
  const [first] = [...samples.values()];
  for (const [key, s] of samples) {
    const cps = median(s.cps);
    const cpu = median(s.cpu);
    console.log(`${key}: median ${cps.toFixed(0)} conn/s (${(cps / median(first!.cps)).toFixed(2)}×), ${cpu.toFixed(3)} CPU s/1,000 (${(cpu / median(first!.cpu)).toFixed(2)}×), errors ${s.errors}`);
  }
}

await main();
