import fs from 'node:fs';
import path from 'node:path';
import { waitForLog } from '../client.js';
import { FIXTURES, LAB_ADDR } from '../constants.js';
import { sleep } from '../process.js';
import type { Lab, LabProcess } from '../types.js';

/** One connection's end as test/e2e/fixtures/fault-target.mjs logs it. */
export interface TargetEvent {
  port: number;
  mode: string;
  event: 'reset' | 'closed' | 'error';
  /** Date.now() of the event. */
  at: number;
  written: number;
  received: number;
  sha256Out: string;
  sha256In: string;
  error?: string;
  /** flood: when the last byte left for the kernel. */
  allWrittenAt?: number;
  /** server-first: when it half-closed. */
  halfClosedAt?: number;
}

export interface FaultTargetHandle {
  proc: LabProcess;
  /** Every connection's end so far. */
  events(): TargetEvent[];
  /** Bounded wait for the first event on `port` after the first `skip` ones. */
  nextEvent(port: number, skip: number, timeoutMs?: number): Promise<TargetEvent>;
  stop(): Promise<void>;
}

/**
 * test/e2e/fixtures/fault-target.mjs in the internet namespace on 198.51.100.2: targets that reset
 * mid-stream, flood a reader, or half-close first, one mode per port (`listen`: port → mode).
 */
export async function startFaultTarget(lab: Lab, listen: Record<number, string>): Promise<FaultTargetHandle> {
  const args = [path.join(FIXTURES, 'fault-target.mjs'), '--host', LAB_ADDR.internet];
  for (const [port, mode] of Object.entries(listen)) args.push('--listen', `${port}:${mode}`);
  const proc = lab.spawn('internet', process.execPath, args, { name: 'fault-target' });
  try {
    await waitForLog(proc.logPath, /^ready$/m, 10_000);
  } catch (e) {
    await lab.kill(proc, 500);
    throw new Error(`${(e as Error).message}\n--- fault-target output ---\n${proc.output()}`);
  }
  const events = () =>
    fs
      .readFileSync(proc.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as TargetEvent);
  return {
    proc,
    events,
    async nextEvent(port, skip, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().filter((e) => e.port === port)[skip];
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`fault-target: no event ${skip} on port ${port} within ${timeoutMs} ms\n${proc.output()}`);
        await sleep(20);
      }
    },
    stop: () => lab.kill(proc),
  };
}
