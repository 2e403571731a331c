import path from 'node:path';
import { createLab } from '../../test/e2e/lab.js';
import { startBenchDante } from './bench-lab.js';
import { runUdp, startBenchUdpEcho, udpNote } from './measure-udp.js';
import type { Results } from './results.js';
import { live, retryOnce, saveLogs, type FigureOptions } from './run-support.js';
import { LABELS, withVariant } from './socksifiers.js';
import { say } from './util.js';

/** Figure 5a: UDP echo through Dante, socksgate and the peers by TPROXY, and direct. */
export async function figureUdp(o: FigureOptions, r: Results, profileDir?: string): Promise<void> {
  const seconds = o.quick ? 2 : 5;
  const pings = o.quick ? 500 : 2000;
  // one redsocks column (redudp does not splice) and one socksgate column (its relays are TCP's)
  const variants = r.meta.variants.filter((v) => v === 'direct' || v === 'socksgate' || v === 'redsocks' || v === 'ipt2socks' || v === 'hev');
  const lab = await createLab();
  live.add(`sg-${lab.id}`);
  try {
    say(`udp lab ${lab.id}: UDP echo, dante`);
    await startBenchUdpEcho(lab);
    const dante = await startBenchDante(lab, { port: 1080 });
    r.udp = {};
    for (let run = 1; run <= o.runs; run++) {
      for (const id of variants) {
        say(`udp: run ${run}/${o.runs}, ${LABELS[id]}`);
        await withVariant(lab, id, dante, { tag: `udp${run}`, udp: true }, async (running) => {
          const s = await retryOnce(r, `UDP echo, ${LABELS[id]}, run ${run}`, () => runUdp(lab, running, seconds, pings));
          if (s) (r.udp![id] ??= []).push(s);
        });
      }
    }
    if (profileDir) {
      say('udp: one more socksgate run under node --cpu-prof (not counted)');
      await withVariant(lab, 'socksgate', dante, { tag: 'udp-prof', udp: true, profileDir: path.join(profileDir, 'udp') }, (running) => runUdp(lab, running, seconds, pings));
    }
    r.notes.push(udpNote(seconds, pings, o.runs, Object.values(r.udp).flat()));
  } finally {
    saveLogs(lab);
    await lab.destroy();
  }
}
