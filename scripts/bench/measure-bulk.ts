/**
 * Figure 1, bulk TCP: iperf3 from the client namespace (through the REDIRECT rules) to the iperf3
 * server in the internet namespace, 1 and 8 parallel streams, upload (client → server) and
 * download (-R). Throughput is what the receiver counted; CPU is the socksifier's utime+stime
 * over the run divided by the bytes received, in s/GiB. The whole path's CPU adds Dante (every
 * process in the proxy namespace), the iperf3 server (the internet namespace's) and the iperf3
 * client (reaped by this process), measured the same way for every socksifier: a relay that moves
 * work onto the other processes of the path (larger writes that the receiver pays for, say) shows
 * there. The kernel's network receive work on veth runs mostly in the sending process's context,
 * so both iperf3 ends belong in it, not only the receiver.
 */
import { LAB_ADDR, type Lab } from '../../test/e2e/lab.js';
import { IPERF_PORT } from './bench-lab.js';
import type { Running } from './socksifiers.js';
import { namespaceCpuSeconds, reapedChildrenCpuSeconds, withCpu } from './util.js';

export interface BulkCase {
  streams: number;
  reverse: boolean;
}

export const BULK_CASES: readonly BulkCase[] = [
  { streams: 1, reverse: false },
  { streams: 1, reverse: true },
  { streams: 8, reverse: false },
  { streams: 8, reverse: true },
];

export function bulkCaseName(c: BulkCase): string {
  return `${c.streams} stream${c.streams > 1 ? 's' : ''}, ${c.reverse ? 'download' : 'upload'}`;
}

export interface BulkSample {
  gbps: number;
  bytes: number;
  cpuS: number;
  cpuPerGiB: number;
  /** Socksifier (0 for direct) + Dante + iperf3 server + iperf3 client, CPU s/GiB. */
  pathCpuPerGiB: number;
  /** Of that, Dante + the iperf3 server alone, CPU s/GiB. */
  farCpuPerGiB: number;
  machineBusy: number;
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bytes: number; bits_per_second: number } };
}

export async function runBulk(lab: Lab, running: Running, c: BulkCase, seconds: number): Promise<BulkSample> {
  const args = ['-c', LAB_ADDR.internet, '-p', String(IPERF_PORT), '-t', String(seconds), '-P', String(c.streams), '-J', '--connect-timeout', '5000'];
  if (c.reverse) args.push('-R');
  const far = [lab.ns.proxy, lab.ns.internet];
  const farBefore = namespaceCpuSeconds(far);
  const clientBefore = reapedChildrenCpuSeconds();
  const { result, cpuS, machineBusy } = await withCpu(running.pid, () =>
    lab.exec('client', 'iperf3', args, { allowFail: true, timeoutMs: (seconds + 20) * 1000 }),
  );
  const clientS = reapedChildrenCpuSeconds() - clientBefore;
  const farS = namespaceCpuSeconds(far) - farBefore;
  let json: IperfJson;
  try {
    json = JSON.parse(result.stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 (${running.id}, ${bulkCaseName(c)}): no JSON, exit ${result.code}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
  }
  const sum = json.end?.sum_received;
  if (json.error || !sum) throw new Error(`iperf3 (${running.id}, ${bulkCaseName(c)}): ${json.error ?? 'no sum_received'}`);
  const gib = sum.bytes / 2 ** 30;
  const pathS = (Number.isFinite(cpuS) ? cpuS : 0) + farS + clientS;
  return { gbps: sum.bits_per_second / 1e9, bytes: sum.bytes, cpuS, cpuPerGiB: cpuS / gib, pathCpuPerGiB: pathS / gib, farCpuPerGiB: farS / gib, machineBusy };
}
