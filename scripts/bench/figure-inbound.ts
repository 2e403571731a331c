/**
 * Figure 6 (measure-inbound.ts has the method): socksgate's proxy inbound as a plain SOCKS5 server
 * (`route: { final: direct }`, so it dials the targets itself), microsocks and Dante, side by side
 * in the proxy namespace of one lab, each started once and measured in turn in every run. Nothing
 * is diverted: the client namespace connects to each server directly.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LAB_ADDR, createLab, startNginx, type Lab, type LabProcess } from '../../test/e2e/lab.js';
import { DAEMON_MARK, startBenchDante, startBenchMicrosocks, waitListening, type DanteHandle } from './bench-lab.js';
import {
  INBOUND_BULK_STREAMS,
  INBOUND_CONCURRENCY,
  INBOUND_LABELS,
  INBOUND_NAME_TARGET,
  INBOUND_SERVERS,
  inboundBulkCaseName,
  runInboundBulk,
  runInboundCps,
  writeBulkFile,
  type InboundServer,
  type SocksServer,
} from './measure-inbound.js';
import type { Results } from './results.js';
import { live, retryOnce, saveLogs, type FigureOptions } from './run-support.js';
import { socksgateArgv, socksgateUrl } from './socksifiers.js';
import { say } from './util.js';

const PORTS: Readonly<Record<InboundServer, number>> = { dante: 1080, microsocks: 1081, socksgate: 1082 };

/**
 * socksgate with only a SOCKS inbound on the proxy namespace's client-side address, everything
 * direct. A config needs an upstream: Dante's, which `final: direct` never dials.
 */
export async function startInbound(lab: Lab, dante: DanteHandle, profileDir?: string): Promise<{ server: SocksServer; proc: LabProcess }> {
  // the profiled one (--profile) beside the measured one, on a port of its own
  const port = profileDir ? PORTS.socksgate + 1 : PORTS.socksgate;
  const config = path.join(lab.dir, `socksgate-inbound-${port}.yaml`);
  // not loopback and no users: allow_open says that is meant (the lab is closed)
  await fsp.writeFile(config, `inbounds:\n  socks:\n    - { listen: "${LAB_ADDR.proxyClientSide}:${port}", allow_open: true }\nroute:\n  final: direct\n`);
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [...prof, ...socksgateArgv(), 'run', '-c', config, '--upstream', socksgateUrl(dante), '--mark', String(DAEMON_MARK), '--control', 'off', '--log-level', 'warn'];
  const proc = lab.spawn('proxy', process.execPath, args, { name: `socksgate-inbound-${port}` });
  await waitListening(lab, 'proxy', port, 10_000, proc);
  return { server: { id: 'socksgate', port, pid: proc.pid! }, proc };
}

async function startAll(lab: Lab): Promise<{ servers: SocksServer[]; dante: DanteHandle }> {
  const dante = await startBenchDante(lab, { port: PORTS.dante });
  const microsocks = await startBenchMicrosocks(lab, PORTS.microsocks);
  const { server: socksgate } = await startInbound(lab, dante);
  const servers: SocksServer[] = [socksgate, { id: 'microsocks', port: PORTS.microsocks, pid: microsocks.proc.pid! }, { id: 'dante', port: PORTS.dante, pid: dante.proc.pid! }];
  return { servers, dante };
}

/** The small page through a server, or a clear error. */
async function smoke(lab: Lab, server: SocksServer, url: string): Promise<void> {
  const args = ['-sS', '--max-time', '5', '--socks5', `${LAB_ADDR.proxyClientSide}:${server.port}`, '-o', '/dev/null', '-w', '%{http_code}', url];
  const c = await lab.exec('client', 'curl', args, { allowFail: true });
  if (c.code !== 0 || c.stdout.trim() !== '200') throw new Error(`${server.id}: curl --socks5 ${url} failed (exit ${c.code}, ${c.stdout} ${c.stderr.trim()})`);
}

/** One more (uncounted) connections/s run on a socksgate under `node --cpu-prof`; SIGTERM writes the profile. */
async function profiledCps(lab: Lab, dante: DanteHandle, profileDir: string, seconds: number): Promise<void> {
  say('inbound: one more socksgate connections/s run under node --cpu-prof (not counted)');
  const { server, proc } = await startInbound(lab, dante, profileDir);
  try {
    await runInboundCps(lab, server, seconds);
  } finally {
    await lab.kill(proc, 12_000);
  }
}

export async function figureInbound(o: FigureOptions, r: Results, profileDir?: string): Promise<void> {
  const seconds = o.quick ? 2 : 5;
  const bulkBytes = (o.quick ? 1 : 2) * 2 ** 30;
  const lab = await createLab();
  live.add(`sg-${lab.id}`);
  try {
    say(`inbound lab ${lab.id}: nginx, Dante, microsocks, socksgate's proxy inbound`);
    const nginx = await startNginx(lab);
    writeBulkFile(nginx, bulkBytes);
    const { servers, dante } = await startAll(lab);
    const url = nginx.url('/small.txt');
    for (const s of servers) await smoke(lab, s, url);
    const res: NonNullable<Results['inbound']> = { concurrency: INBOUND_CONCURRENCY, cpsSeconds: seconds, bulkBytes, cps: {}, cpsByName: {}, bulk: {} };
    r.inbound = res;
    for (let run = 1; run <= o.runs; run++) {
      for (const s of servers) {
        const name = INBOUND_LABELS[s.id];
        say(`inbound: run ${run}/${o.runs}, ${name}: connections/s`);
        const c = await retryOnce(r, `SOCKS5 server connections/s, ${name}, run ${run}`, () => runInboundCps(lab, s, seconds));
        if (c) (res.cps[s.id] ??= []).push(c);
        say(`inbound: run ${run}/${o.runs}, ${name}: connections/s to a name`);
        const n = await retryOnce(r, `SOCKS5 server connections/s to a name, ${name}, run ${run}`, () => runInboundCps(lab, s, seconds, INBOUND_NAME_TARGET));
        if (n) (res.cpsByName![s.id] ??= []).push(n);
        for (const streams of INBOUND_BULK_STREAMS) {
          say(`inbound: run ${run}/${o.runs}, ${name}: bulk, ${streams} stream(s)`);
          const b = await retryOnce(r, `SOCKS5 server bulk ${inboundBulkCaseName(streams)}, ${name}, run ${run}`, () => runInboundBulk(lab, nginx, s, streams, bulkBytes));
          if (b) ((res.bulk[inboundBulkCaseName(streams)] ??= {})[s.id] ??= []).push(b);
        }
      }
    }
    if (profileDir) await profiledCps(lab, dante, path.join(profileDir, 'inbound'), seconds);
    r.notes.push(
      `SOCKS5 servers: ${INBOUND_SERVERS.map((id) => INBOUND_LABELS[id]).join(', ')}, all in the proxy namespace, started once and measured in turn in each run; the client namespace connects to each directly (nothing diverted). ` +
        `socksgate runs \`run -c\` with only \`inbounds.socks\` (${LAB_ADDR.proxyClientSide}, allow_open) and \`route: { final: direct }\`, --mark ${DAEMON_MARK}, and Dante as its --upstream (a config needs one; never dialed). ` +
        `Connections/s: scripts/bench/socks-cps.mjs, ${INBOUND_CONCURRENCY} loops of SOCKS5 CONNECT + GET /small.txt + close for ${seconds} s after 1 s unmeasured, to nginx's address and again to ${INBOUND_NAME_TARGET} (ATYP 3), which each server resolves through the proxy namespace's /etc/hosts. ` +
        `Bulk: curl --socks5 of ${bulkBytes / 2 ** 30} GiB (a sparse file nginx serves), as one range or 8 ranges fetched by 8 curls at once; Gbit/s over the wall time from the first spawn to the last exit. ` +
        `CPU is the server's process tree (Dante forks; the children it reaped count through its cutime) from /proc/PID/stat. The load client, curl and nginx share the same ${os.cpus().length} cores with the server.`,
    );
  } finally {
    saveLogs(lab);
    await lab.destroy();
  }
}
