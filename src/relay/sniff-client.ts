import type { Socket } from 'node:net';
import { NEED_MORE } from '../core/need-more.js';
import { sniffHost } from '../codec/sniff/index.js';

/**
 * Whether the peer's FIN has arrived. Node has no public flag for "EOF received but 'end' not yet
 * emitted", and that is exactly the moment bytes can still be put back with unshift().
 */
function eofReceived(socket: Socket): boolean {
  return (socket as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
}

/**
 * Reads the client's first bytes until `inspect` has an answer, waiting at most `timeoutMs` (then
 * `fallback`): a protocol where the server speaks first is delayed by no more than that. Whatever
 * was read goes back into the paused socket, so the relay sends every byte upstream unchanged.
 */
export function peekClient<T>(client: Socket, timeoutMs: number, inspect: (head: Buffer) => T | typeof NEED_MORE, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(fallback), timeoutMs);

    function finish(answer: T) {
      clearTimeout(timer);
      client.off('readable', onReadable);
      client.off('close', onClose);
      if (buffered.length > 0 && !client.destroyed) client.unshift(buffered);
      resolve(answer);
    }
    function onReadable() {
      let chunk: Buffer | null;
      while ((chunk = client.read() as Buffer | null) !== null) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const result = inspect(buffered);
        if (result !== NEED_MORE) return finish(result);
      }
      if (eofReceived(client)) finish(fallback);
    }
    function onClose() {
      finish(fallback);
    }
    client.on('readable', onReadable);
    client.once('close', onClose);
  });
}

/** The host name in the client's first bytes (TLS SNI or HTTP Host); see peekClient. */
export function sniffClientHost(client: Socket, timeoutMs: number): Promise<string | undefined> {
  return peekClient(client, timeoutMs, sniffHost, undefined);
}

/**
 * Takes the bytes the client has sent so far out of the paused socket, waiting at most `waitMs` for
 * the first ones (none at all when some are already buffered); undefined when the client is silent
 * (a server-first protocol) or gone. The caller owns the bytes: they are no longer in the socket.
 */
export async function takeClientFirstBytes(client: Socket, waitMs: number): Promise<Buffer | undefined> {
  if (client.readableLength === 0) {
    const arrived = await peekClient(client, waitMs, () => true, false);
    if (!arrived) return undefined;
  }
  if (client.destroyed) return undefined;
  return (client.read() as Buffer | null) ?? undefined;
}
