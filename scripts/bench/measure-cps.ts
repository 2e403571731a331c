/**
 * Figure 3, new connections per second: wrk with `Connection: close` (one TCP connection per
 * request) from the client namespace to nginx /small.txt, and the socksifier's CPU seconds per
 * 1,000 connections. Every connection is also a new SOCKS session at Dante, which forks and logs:
 * the machine-busy column tells when the two cores, not the socksifier, are the limit. Five seconds
 * of the same load come first, unmeasured, for every socksifier: socksgate's JIT compiles its hot
 * paths then (on its main thread, `--single-threaded`: a quarter of its user time in the first ~6 s
 * of a fresh process under this load, 0-3 % after), and the figure is meant to be the steady state
 * a long-running daemon is in.
 */
import type { Lab } from '../../test/e2e/lab.js';
import type { Running } from './socksifiers.js';
import { withCpu } from './util.js';

export interface CpsSample {
  rps: number;
  requests: number;
  errors: number;
  cpuS: number;
  cpuPer1k: number;
  machineBusy: number;
}

export const CPS_WARM_UP_S = 5;

/** `warmupS`: the unmeasured load first, seconds. */
export async function runCps(lab: Lab, running: Running, url: string, seconds: number, warmupS = CPS_WARM_UP_S): Promise<CpsSample> {
  const args = (s: number) => ['-c', '50', '-t', '2', '-d', `${s}s`, '--timeout', '5s', '-H', 'Connection: close', url];
  await lab.exec('client', 'wrk', args(warmupS), { allowFail: true, timeoutMs: (warmupS + 30) * 1000 });
  const { result, cpuS, machineBusy } = await withCpu(running.pid, () => lab.exec('client', 'wrk', args(seconds), { allowFail: true, timeoutMs: (seconds + 20) * 1000 }));
  const out = result.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (result.code !== 0 || !Number.isFinite(rps) || !Number.isFinite(requests)) {
    throw new Error(`wrk (${running.id}): exit ${result.code}\n${out}\n${result.stderr}`);
  }
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
  return { rps, requests, errors, cpuS, cpuPer1k: cpuS / (requests / 1000), machineBusy };
}
