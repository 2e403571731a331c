/** Figure 2, time to first byte, on the delay-line lab (measure-ttfb.ts has the method). */
import path from 'node:path';
import { startServers } from './bench-lab.js';
import { compileDelayLine, createDelayLab } from './delay-line.js';
import { danteLoginMs, mergeTtfb, runTtfb } from './measure-ttfb.js';
import type { Results } from './results.js';
import { OUT, live, saveLogs, type FigureOptions } from './run-support.js';
import { CPS_ONLY_VARIANTS, LABELS, withVariant, type VariantId } from './socksifiers.js';
import { median, say } from './util.js';

export async function figureTtfb(o: FigureOptions, r: Results): Promise<void> {
  const rttMs = 20;
  const bin = compileDelayLine(path.join(OUT, 'bin'));
  const { lab } = await createDelayLab(bin, rttMs);
  live.add(`sg-${lab.id}`);
  try {
    say(`ttfb lab ${lab.id}: delay line with a ${rttMs} ms round trip between client and proxy`);
    const servers = await startServers(lab, { auth: true });
    const url = servers.nginx.url('/small.txt');
    const count = r.meta.ttfbCount;
    const noAuth: Partial<Record<VariantId, Awaited<ReturnType<typeof runTtfb>>>> = {};
    const auth: typeof noAuth = {};
    // each run a fresh socksifier; the fetches of all runs are pooled (the table takes their median)
    for (let run = 1; run <= o.runs; run++) {
      for (const id of r.meta.variants.filter((v) => !CPS_ONLY_VARIANTS.includes(v))) {
        for (const withAuth of id === 'direct' ? [false] : [false, true]) {
          say(`ttfb: run ${run}/${o.runs}, ${LABELS[id]}${withAuth ? ', username/password' : ''}`);
          await withVariant(lab, id, withAuth ? servers.danteAuth! : servers.dante, { tag: `ttfb${withAuth ? '-auth' : ''}${run}` }, async () => {
            const set = withAuth ? auth : noAuth;
            set[id] = mergeTtfb(set[id], await runTtfb(lab, url, count));
          });
        }
      }
    }
    const direct = noAuth.direct;
    if (!direct) throw new Error('ttfb: no direct figure');
    const loginMs = await danteLoginMs(lab, servers.danteAuth!);
    r.ttfb = { nominalRttMs: rttMs, measuredRttMs: median(direct.connectMs), danteLoginMs: loginMs, noAuth, auth };
    r.notes.push(
      `Time to first byte: the client ⇄ proxy link is a userspace delay line (scripts/bench/delay-line.c: two TUN interfaces, every packet held ${rttMs / 2} ms each way); ` +
        `round trips = (median TTFB − median direct TTFB) / measured RTT + 2. The socksifier runs in the client namespace, so its own accept is free and only its upstream handshake crosses the delay. ` +
        `socksgate uses ?pipelining=on (greeting, login and CONNECT in one write), hev-socks5-tproxy its \`pipeline: true\`; socksgate's --optimistic-data column also puts curl's request in that write. Dante's username method checks the system password with crypt(3): it took ${loginMs.toFixed(1)} ms per login here (measured inside the proxy namespace, no delay), ` +
        `which every socksifier pays alike; the "excl. Dante's login time" row subtracts it before counting round trips.`,
    );
  } finally {
    saveLogs(lab);
    await lab.destroy();
  }
}
