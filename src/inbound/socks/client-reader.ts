import type { Socket } from 'node:net';
import { ErrorCode, SgError } from '../../core/errors.js';
import { NEED_MORE, type Decoder } from '../../core/need-more.js';

const EMPTY = Buffer.alloc(0);

/**
 * Reads a proxy client's handshake messages one decoder at a time from a paused socket, under one
 * deadline (`signal`) for the whole handshake. Bytes past the last message stay buffered until
 * `release` puts them back into the socket, so the relay sends them on first.
 */
export class ClientReader {
  private buffered: Buffer = EMPTY;

  constructor(
    private readonly socket: Socket,
    private readonly signal: AbortSignal,
  ) {}

  /** The next message. Rejects with the decoder's CodecError, or an SgError when the client leaves or the deadline passes. */
  async read<T>(decode: Decoder<T>): Promise<T> {
    for (;;) {
      const result = decode(this.buffered, 0);
      if (result !== NEED_MORE) {
        this.buffered = this.buffered.subarray(result.bytesRead);
        return result.value;
      }
      const chunk = await this.more();
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    }
  }

  /** Puts the bytes read past the last message back into the socket, for the relay. */
  release(): void {
    if (this.buffered.length > 0 && !this.socket.destroyed) this.socket.unshift(this.buffered);
    this.buffered = EMPTY;
  }

  private more(): Promise<Buffer> {
    const { socket, signal } = this;
    return new Promise((resolve, reject) => {
      const chunk = socket.read() as Buffer | null;
      if (chunk !== null) return resolve(chunk);
      const done = (err: SgError | undefined, data?: Buffer) => {
        socket.off('readable', onReadable);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(data!);
      };
      const onReadable = () => {
        const data = socket.read() as Buffer | null;
        if (data !== null) done(undefined, data);
      };
      const onEnd = () => done(new SgError(ErrorCode.CLIENT_RESET, 'client closed the connection during the handshake'));
      const onAbort = () => done(new SgError(ErrorCode.HANDSHAKE_TIMEOUT, 'client did not finish its handshake in time'));
      if (signal.aborted) return onAbort();
      if (socket.destroyed || socket.readableEnded) return onEnd();
      socket.on('readable', onReadable);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
