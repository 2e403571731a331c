import { spawnSync } from 'node:child_process';
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

export function runTool(cmd: string, args: readonly string[], input?: string): ToolResult {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: 30_000 });
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
