import type { Socket } from 'node:net';

/** Bytes a client may send on a control connection while it waits; past this it is read no more. */
const MAX_HELD_BYTES = 64 * 1024;

export interface ControlWatch {
  /** Aborted when the client ends or closes the control connection (or it fails). */
  readonly signal: AbortSignal;
  /** Stops watching and puts the bytes held so far back into the (paused) socket, for the relay. */
  release(): void;
}

/**
 * Watches a control connection (BIND's before the peer came, UDP ASSOCIATE's for its whole life)
 * for its end: the socket must be read to see the client's FIN. What the client sends meanwhile
 * is held (bounded, with `hold`) rather than lost, for a BIND whose relay then starts with it.
 */
export function watchControl(socket: Socket, hold: boolean): ControlWatch {
  const abort = new AbortController();
  const held: Buffer[] = [];
  let heldBytes = 0;
  const onData = (chunk: Buffer) => {
    if (!hold) return; // UDP ASSOCIATE: nothing is due on the control connection; read and dropped so its EOF is seen
    held.push(chunk);
    heldBytes += chunk.length;
    // A client that keeps sending is no longer read (TCP flow control holds it); its EOF is then seen at the relay.
    if (heldBytes >= MAX_HELD_BYTES) socket.pause();
  };
  const onEnd = () => abort.abort();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  if (socket.destroyed || socket.readableEnded) abort.abort();
  else socket.resume();
  return {
    signal: abort.signal,
    release() {
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (held.length > 0 && !socket.destroyed) socket.unshift(Buffer.concat(held));
      held.length = 0;
    },
  };
}
