/**
 * Start-up's floor: a bare `node -e 0` in the client namespace, spawn to exit, timed the way the
 * socksifiers' start-up is (from lab.spawn, so including `ip netns exec`), in the same run.
 */
import type { Lab } from '../../test/e2e/lab.js';

export async function bareNodeMs(lab: Lab): Promise<number> {
  const t0 = performance.now();
  const proc = lab.spawn('client', process.execPath, ['-e', '0'], { name: 'bare-node' });
  await proc.exited();
  const ms = performance.now() - t0;
  if (proc.exitCode !== 0) throw new Error(`node -e 0 exited with ${proc.exitCode ?? proc.signalCode}:\n${proc.output()}`);
  return ms;
}
