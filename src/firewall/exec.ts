import type * as ChildProcesses from 'node:child_process';
import { createRequire } from 'node:module';
import type { Step } from './step.js';

/**
 * Runs the firewall tools, synchronously: flush must also work from an exit handler, and these
 * commands take milliseconds.
 */

export class FirewallError extends Error {
  readonly code = 'SG_ERR_FIREWALL';
}

export interface ToolResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Throws FirewallError when the tool was killed (a signal to our process group, or the timeout):
 * its silence says nothing about the machine, and read as "not there" it would mislead apply.
 */
export function runTool(cmd: string, args: readonly string[], input?: string): ToolResult {
  // Required here, not imported: loading child_process costs `run` ~5 ms of start-up, and `run`
  // without --rules auto never runs a tool.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof ChildProcesses;
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: 30_000 });
  if (r.signal) throw new FirewallError(`${cmd} ${args.join(' ')} was killed by ${r.signal}`);
  const stderr = r.error ? `${r.error.message}\n${r.stderr ?? ''}` : (r.stderr ?? '');
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr };
}

const MAX_REPEATS = 64;

export function runStep(step: Step): void {
  for (let i = 0; i < MAX_REPEATS; i++) {
    const r = runTool(step.cmd, step.args, step.input);
    if (step.untilFails) {
      if (!r.ok) return;
      continue;
    }
    if (r.ok || step.mayFail) return;
    throw new FirewallError(`${step.cmd} ${step.args.join(' ')} failed: ${r.stderr.trim() || 'no output'}`);
  }
  throw new FirewallError(`${step.cmd} ${step.args.join(' ')} still succeeds after ${MAX_REPEATS} runs`);
}
