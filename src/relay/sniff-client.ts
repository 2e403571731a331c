import type { Socket } from 'node:net';
import { NEED_MORE } from '../codec/need-more.js';
import { sniffHost } from '../codec/sniff/index.js';

/**
 * Whether the peer's FIN has arrived. Node has no public flag for "EOF received but 'end' not yet
 * emitted", and that is exactly the moment bytes can still be put back with unshift().
 */
function eofReceived(socket: Socket): boolean {
  return (socket as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
}

/**
 * The host name in the client's first bytes (TLS SNI or HTTP Host), waiting at most `timeoutMs`
 * for them: a protocol where the server speaks first is delayed by no more than that. Whatever
 * was read goes back into the paused socket, so the relay sends every byte upstream unchanged.
 */
export function sniffClientHost(client: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(undefined), timeoutMs);

    function finish(host: string | undefined) {
      clearTimeout(timer);
      client.off('readable', onReadable);
      client.off('close', onClose);
      if (buffered.length > 0 && !client.destroyed) client.unshift(buffered);
      resolve(host);
    }
    function onReadable() {
      let chunk: Buffer | null;
      while ((chunk = client.read() as Buffer | null) !== null) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const result = sniffHost(buffered);
        if (result !== NEED_MORE) return finish(result);
      }
      if (eofReceived(client)) finish(undefined);
    }
    function onClose() {
      finish(undefined);
    }
    client.on('readable', onReadable);
    client.once('close', onClose);
  });
}
