import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, NsRef } from './lab.js';
import type { Daemon, LogLine } from './socksgate.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'udp-client.mjs');

export interface UdpTarget {
  to: string;
  expectFrom?: string;
  count?: number;
  minSize?: number;
  maxSize?: number;
}

export interface UdpClientResult {
  sent: number;
  received: number;
  retries: number;
  lost: number;
  corrupted: number;
  wrongSource: { expected: string; got: string }[];
  sources: string[];
}

/** test/e2e/fixtures/udp-client.mjs in `ns`: one socket, stop-and-wait, bounded retries. */
export async function udpClient(lab: Lab, ns: NsRef, spec: { family: 4 | 6; targets: UdpTarget[]; timeoutMs?: number; retries?: number }, timeoutMs = 60_000): Promise<UdpClientResult> {
  const r = await lab.exec(ns, process.execPath, [CLIENT, JSON.stringify(spec)], { timeoutMs });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as UdpClientResult;
}

/** `dig` over UDP (no TCP fallback, one try) from `ns`; the answer section, one record per line. */
export async function digShort(lab: Lab, ns: NsRef, server: string, name: string, type = 'A', opts: { tries?: number; timeS?: number } = {}): Promise<{ code: number; answer: string[]; output: string }> {
  const args = [`@${server}`, name, type, '+short', '+notcp', `+tries=${opts.tries ?? 2}`, `+time=${opts.timeS ?? 3}`, '+ignore'];
  const r = await lab.exec(ns, 'dig', args, { allowFail: true, timeoutMs: 20_000 });
  return { code: r.code, answer: r.stdout.trim().split('\n').filter(Boolean), output: r.stdout + r.stderr };
}

/** The counters the daemon logs when it stops (`udp stopped`). */
export function finalUdpCounters(daemon: Daemon): Record<string, number> {
  const line = daemon.lines().find((l: LogLine) => l.msg === 'udp stopped');
  if (!line) throw new Error(`no "udp stopped" line in the daemon log:\n${daemon.proc.output()}`);
  return line.counters as Record<string, number>;
}
