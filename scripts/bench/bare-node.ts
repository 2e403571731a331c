/**
 * Start-up's floors, in the client namespace, in the same run, timed from lab.spawn (so including
 * `ip netns exec`): a bare `node -e 0`, spawn to exit (the floor), and a bare node that
 * listens on a TCP port, spawn to listening as the socksifiers are timed (listeningSince).
 */
import type { Lab } from '../../test/e2e/lab.js';
import { listeningSince, type Started } from './bench-lab.js';

/** A port the socksifiers do not use. */
const BARE_LISTEN_PORT = 12399;

export async function bareNodeMs(lab: Lab): Promise<number> {
  const t0 = performance.now();
  const proc = lab.spawn('client', process.execPath, ['-e', '0'], { name: 'bare-node' });
  await proc.exited();
  const ms = performance.now() - t0;
  if (proc.exitCode !== 0) throw new Error(`node -e 0 exited with ${proc.exitCode ?? proc.signalCode}:\n${proc.output()}`);
  return ms;
}

export async function bareListeningNodeMs(lab: Lab): Promise<Started> {
  const script = `require('node:net').createServer().listen(${BARE_LISTEN_PORT}, '127.0.0.1')`;
  const t0 = performance.now();
  const proc = lab.spawn('client', process.execPath, ['-e', script], { name: 'bare-node-listening' });
  const started = await listeningSince(lab, proc, t0, [{ port: BARE_LISTEN_PORT, proto: 'tcp' }]);
  await lab.kill(proc, 500);
  return started;
}
