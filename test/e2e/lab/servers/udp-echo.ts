import path from 'node:path';
import { waitForLog } from '../client.js';
import { FIXTURES, LAB_ADDR } from '../constants.js';
import type { Lab, LabProcess } from '../types.js';

export interface UdpEchoHandle {
  proc: LabProcess;
  stop(): Promise<void>;
}

/**
 * UDP echo (test/e2e/fixtures/udp-echo-server.mjs) in the internet namespace on 198.51.100.2 and
 * 203.0.113.10 (+ 2001:db8:2::2, 2001:db8:3::10), one socket per address so replies come from it:
 * `ports` echo from the same port, `shifted` [P, R] echo what arrives on P from port R.
 */
export async function startUdpEcho(lab: Lab, opts: { ports?: number[]; range?: [number, number]; shifted?: [number, number][]; hosts?: string[]; timeoutMs?: number }): Promise<UdpEchoHandle> {
  const A = LAB_ADDR;
  const args = [path.join(FIXTURES, 'udp-echo-server.mjs')];
  for (const host of opts.hosts ?? [A.internet, A.extraTarget, ...(lab.ipv6 ? [A.internet6, A.extraTarget6] : [])]) args.push('--host', host);
  for (const p of opts.ports ?? []) args.push('--port', String(p));
  if (opts.range) args.push('--ports', `${opts.range[0]}-${opts.range[1]}`);
  for (const [p, r] of opts.shifted ?? []) args.push('--shifted', `${p}:${r}`);
  const proc = lab.spawn('internet', process.execPath, args, { name: 'udp-echo' });
  try {
    await waitForLog(proc.logPath, /^ready$/m, opts.timeoutMs ?? 10_000);
  } catch (e) {
    await lab.kill(proc, 500);
    throw new Error(`${(e as Error).message}\n--- udp-echo output ---\n${proc.output()}`);
  }
  return { proc, stop: () => lab.kill(proc) };
}
