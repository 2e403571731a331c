import path from 'node:path';
import { LAB_ADDR, createLab, type Lab } from '../../test/e2e/lab.js';
import { startBenchDante, type DanteHandle } from './bench-lab.js';
import { compileDelayLine, createDelayLab } from './delay-line.js';
import { DNS_ZONE, SOCKSGATE_DNS, runDnsLatency, runDnsRate, socksgateDnsArgs, startBenchDnsmasq } from './measure-dns.js';
import type { Results } from './results.js';
import { OUT, live, saveLogs, type FigureOptions } from './run-support.js';
import { LABELS, withVariant } from './socksifiers.js';
import { say } from './util.js';

/** Figure 5b: the resolver's queries/s on the plain lab, then its latency on the delay-line lab. */
export async function figureDns(o: FigureOptions, r: Results): Promise<void> {
  const seconds = o.quick ? 2 : 5;
  const rttMs = 20;
  const rate: NonNullable<Results['dns']>['rate'] = {};
  const latency: NonNullable<Results['dns']>['latency'] = {};
  const asked = async (lab: Lab, dante: DanteHandle, id: 'direct' | 'socksgate', fn: (server: string, pid: number | null) => Promise<void>) =>
    withVariant(lab, id, dante, { tag: 'dns', extraArgs: socksgateDnsArgs() }, async (running) => {
      const server = id === 'direct' ? LAB_ADDR.internet : SOCKSGATE_DNS;
      await runDnsLatency(lab, server, 'same', 1); // warm-up: socksgate opens its DNS connection through Dante
      await fn(server, running.pid);
    });

  const lab = await createLab();
  live.add(`sg-${lab.id}`);
  try {
    say(`dns lab ${lab.id}: dnsmasq, dante`);
    const dante = await startBenchDante(lab, { port: 1080 });
    await startBenchDnsmasq(lab);
    for (let run = 1; run <= o.runs; run++) {
      for (const id of ['direct', 'socksgate'] as const) {
        say(`dns: run ${run}/${o.runs}, queries/s, ${LABELS[id]}`);
        await asked(lab, dante, id, async (server, pid) => {
          for (const names of ['same', 'unique'] as const) ((rate[names] ??= {})[id] ??= []).push(await runDnsRate(lab, pid, server, names, seconds));
        });
      }
    }
  } finally {
    saveLogs(lab);
    await lab.destroy();
  }

  const { lab: slow } = await createDelayLab(compileDelayLine(path.join(OUT, 'bin')), rttMs);
  live.add(`sg-${slow.id}`);
  try {
    say(`dns lab ${slow.id}: delay line with a ${rttMs} ms round trip between client and proxy`);
    const dante = await startBenchDante(slow, { port: 1080 });
    await startBenchDnsmasq(slow);
    for (const id of ['direct', 'socksgate'] as const) {
      say(`dns: latency, ${LABELS[id]}`);
      await asked(slow, dante, id, async (server) => {
        for (const names of ['same', 'unique'] as const) (latency[names] ??= {})[id] = await runDnsLatency(slow, server, names, 30);
      });
    }
  } finally {
    saveLogs(slow);
    await slow.destroy();
  }
  r.dns = { rttMs, rate, latency };
  r.notes.push(
    `DNS: dns-load.mjs in the client namespace asks A queries over UDP, 64 in flight for ${seconds} s per run (queries/s) or one at a time, 30 of them (latency). ` +
      `"cached" asks one name again and again; "uncached" a new name every time. socksgate (--dns ${SOCKSGATE_DNS}:53 --dns-upstream tcp://${LAB_ADDR.internet}:53) answers from its cache or asks dnsmasq (internet namespace, answering ${DNS_ZONE} itself) over one persistent, pipelined TCP connection through Dante; ` +
      `direct asks dnsmasq itself (the proxy namespace forwards IP). Latency is measured on the ${rttMs} ms delay-line lab; round trips = median / ${rttMs} ms.`,
  );
}
