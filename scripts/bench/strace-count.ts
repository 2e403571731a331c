/**
 * System calls a running process makes while `work` runs: `strace -c -f` attached to it for that
 * time only, its summary table read back (calls and failed calls by syscall).
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SyscallCount {
  calls: number;
  errors: number;
}

let traces = 0;

export async function countSyscalls<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; counts: Map<string, SyscallCount> }> {
  const out = path.join(tmpdir(), `strace-count-${process.pid}-${traces++}.txt`);
  const tracer = spawn('strace', ['-c', '-f', '-o', out, '-p', String(pid)], { stdio: 'ignore' });
  const exited = new Promise((resolve) => tracer.once('exit', resolve));
  try {
    await new Promise((resolve) => setTimeout(resolve, 500)); // attached to every thread before the work starts
    const result = await work();
    tracer.kill('SIGINT');
    await exited;
    return { result, counts: parseSummary(readFileSync(out, 'utf8')) };
  } finally {
    tracer.kill('SIGINT');
    rmSync(out, { force: true });
  }
}

function parseSummary(text: string): Map<string, SyscallCount> {
  const counts = new Map<string, SyscallCount>();
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s+(\w+)\s*$/.exec(line);
    if (m && m[3] !== 'total') counts.set(m[3]!, { calls: Number(m[1]), errors: Number(m[2] ?? 0) });
  }
  return counts;
}
