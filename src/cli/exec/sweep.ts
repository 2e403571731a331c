import { runTool } from '../../firewall/exec.js';
import { execIdsIn, execOwnedNames } from './exec-rules.js';
import { removeExecRules } from './exec-rules-install.js';

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Rule sets of execs that were SIGKILLed before they could remove them: their pid is gone and so
 * is their cgroup (removed once empty). While the cgroup lives, a command orphaned by the kill may
 * still run in it, and its rules keep it proxied rather than let it go out directly.
 * Returns the ids removed.
 */
export function sweepDeadExecRules(cgroupExists: (id: number) => boolean): number[] {
  const tables = runTool('nft', ['list', 'tables']).stdout;
  const saved = runTool('iptables-save', []).stdout + runTool('ip6tables-save', []).stdout;
  const dead = [...execIdsIn(tables, saved)].filter((id) => id !== process.pid && !pidAlive(id) && !cgroupExists(id));
  for (const id of dead) {
    try {
      removeExecRules(execOwnedNames(id));
    } catch {
      // best effort: the next exec tries again
    }
  }
  return dead;
}
