import { socketFd } from '../../src/native/index.js';
import { spliceRelay, type SpliceResult } from '../../src/native/splice.js';
import { socketPair } from './socket-pair.js';

/**
 * A spliced relay between two socket pairs: `app` is the client application's end, `target` the
 * server's. `end` resolves with the relay's result; `onEnd` (if given) runs first.
 */
export async function splicedRelay(cleanups: (() => void)[], idleMs = 0, onEnd?: () => void) {
  const [app, client] = await socketPair();
  const [upstream, target] = await socketPair();
  for (const s of [app, client, upstream, target]) {
    s.on('error', () => {});
    cleanups.push(() => s.destroy());
  }
  let ended!: (r: SpliceResult) => void;
  const end = new Promise<SpliceResult>((resolve) => (ended = resolve));
  const owner = { spliceEnded: (r: SpliceResult) => (onEnd?.(), ended(r)) };
  const handle = spliceRelay({ client: socketFd(client), upstream: socketFd(upstream) }, { down: null, up: null }, idleMs, { withinMs: 0, maxBytesUp: 0 }, owner);
  client.destroy(); // the relay holds its own duplicates
  upstream.destroy();
  return { app, target, handle, end };
}
