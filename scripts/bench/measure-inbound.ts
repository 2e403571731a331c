/**
 * Figure 6, socksgate as a SOCKS5 server: its proxy inbound (route final direct), microsocks and
 * Dante, each in the proxy namespace serving CONNECTs from the client namespace to nginx in the
 * internet namespace. Two measurements per server:
 *   - new connections/s: socks-cps.mjs, 50 loops of SOCKS5 CONNECT + one GET of /small.txt +
 *     close, after one unmeasured second of the same load (the steady state, as measure-cps.ts);
 *     to the address, and to a name the proxy namespace resolves (its /etc/hosts), as SOCKS5
 *     clients with remote DNS (socks5h, browsers) ask;
 *   - bulk: `curl --socks5 … -o /dev/null` of a sparse file nginx serves, 1 stream (the whole
 *     range) or 8 parallel streams (8 disjoint ranges of it, 8 curl processes); Gbit/s is the
 *     bytes received over the wall time from the first spawn to the last exit.
 * CPU is the server's whole process tree (Dante forks) from /proc/PID/stat over the measured part.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_ADDR, LAB_HOSTS, type Lab, type NginxHandle } from '../../test/e2e/lab.js';
import { runJsonClient, withCpu } from './util.js';

export type InboundServer = 'socksgate' | 'microsocks' | 'dante';

export const INBOUND_SERVERS: readonly InboundServer[] = ['socksgate', 'microsocks', 'dante'];

export const INBOUND_LABELS: Readonly<Record<InboundServer, string>> = {
  socksgate: 'socksgate (proxy inbound, final direct)',
  microsocks: 'microsocks',
  dante: 'Dante',
};

/** A SOCKS5 server in the proxy namespace, as the measurements see it. */
export interface SocksServer {
  id: InboundServer;
  port: number;
  pid: number;
}

export interface InboundCpsSample {
  perSecond: number;
  connections: number;
  errors: number;
  cpuS: number;
  cpuPer1k: number;
  machineBusy: number;
}

export interface InboundBulkSample {
  gbps: number;
  bytes: number;
  cpuS: number;
  cpuPerGiB: number;
  machineBusy: number;
}

export const INBOUND_CONCURRENCY = 50;
/** The connections/s target by name: nginx's address in the proxy namespace's /etc/hosts (no DNS server). */
export const INBOUND_NAME_TARGET = LAB_HOSTS.web4;
export const INBOUND_BULK_STREAMS: readonly number[] = [1, 8];

const LOAD_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'socks-cps.mjs');
const BULK_FILE = 'inbound-bulk.bin';

/** `host`: what the CONNECTs ask for, nginx's address or a name for it (INBOUND_NAME_TARGET). */
export async function runInboundCps(lab: Lab, server: SocksServer, seconds: number, host: string = LAB_ADDR.internet): Promise<InboundCpsSample> {
  const args = (s: number) => [
    '--proxy-host', LAB_ADDR.proxyClientSide, '--proxy-port', String(server.port), '--host', host, '--port', '80',
    '--path', '/small.txt', '--concurrency', String(INBOUND_CONCURRENCY), '--seconds', String(s),
  ];
  type Out = { connections: number; perSecond: number; errors: number };
  await runJsonClient<Out>(lab, LOAD_CLIENT, args(1), 40_000);
  const { result, cpuS, machineBusy } = await withCpu(server.pid, () => runJsonClient<Out>(lab, LOAD_CLIENT, args(seconds), (seconds + 40) * 1000));
  if (result.connections === 0) throw new Error(`socks-cps (${server.id}): no connection completed, ${result.errors} errors`);
  return { ...result, cpuS, cpuPer1k: cpuS / (result.connections / 1000), machineBusy };
}

/**
 * A sparse file of `bytes` in nginx's document root (its holes read as zeros: no disk), read
 * through once so that the page cache holds it before the first measured download (the first
 * server measured would otherwise pay for filling it).
 */
export function writeBulkFile(nginx: NginxHandle, bytes: number): void {
  const fd = fs.openSync(path.join(path.dirname(nginx.bigPath), BULK_FILE), 'w+');
  try {
    fs.ftruncateSync(fd, bytes);
    const chunk = Buffer.allocUnsafe(8 * 2 ** 20);
    for (let at = 0; at < bytes; ) at += fs.readSync(fd, chunk, 0, chunk.length, at) || bytes;
  } finally {
    fs.closeSync(fd);
  }
}

/** `streams` curls at once, each fetching 1/streams of the file's `bytes` through the server. */
export async function runInboundBulk(lab: Lab, nginx: NginxHandle, server: SocksServer, streams: number, bytes: number): Promise<InboundBulkSample> {
  const share = Math.floor(bytes / streams);
  const fetch = (i: number) =>
    lab.exec(
      'client',
      'curl',
      ['-sS', '--max-time', '120', '--socks5', `${LAB_ADDR.proxyClientSide}:${server.port}`, '-r', `${i * share}-${(i + 1) * share - 1}`, '-o', '/dev/null', '-w', '%{http_code} %{size_download}', nginx.url(`/${BULK_FILE}`)],
      { allowFail: true, timeoutMs: 130_000 },
    );
  const t0 = performance.now();
  const { result, cpuS, machineBusy } = await withCpu(server.pid, () => Promise.all(Array.from({ length: streams }, (_, i) => fetch(i))));
  const seconds = (performance.now() - t0) / 1000;
  let received = 0;
  for (const r of result) {
    const [code, size] = r.stdout.trim().split(' ');
    if (r.code !== 0 || code !== '206' || Number(size) !== share) {
      throw new Error(`curl through ${server.id}: exit ${r.code}, ${r.stdout.trim()} (expected 206 ${share}) ${r.stderr.trim()}`);
    }
    received += share;
  }
  return { gbps: (received * 8) / seconds / 1e9, bytes: received, cpuS, cpuPerGiB: cpuS / (received / 2 ** 30), machineBusy };
}

export function inboundBulkCaseName(streams: number): string {
  return `${streams} stream${streams > 1 ? 's' : ''}, download`;
}
