import type { Socket } from 'node:net';
import { NEED_MORE, type Decoder } from '../codec/need-more.js';

/** Why a frame could not be read; callers map these to their own failure reasons. */
export class FrameError extends Error {
  constructor(
    readonly reason: 'timeout' | 'eof' | 'aborted' | 'socket',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FrameError';
  }
}

export interface ReadFrameOptions {
  /** Deadline for the whole frame, in ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads exactly one message from a paused socket. Bytes past the message are unshifted back, so the
 * next reader (another frame or the relay) sees them. Codec errors propagate unchanged.
 */
export function readFrame<T>(socket: Socket, decode: Decoder<T>, opts: ReadFrameOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffered: Buffer = EMPTY;
    const timer = setTimeout(() => finish(new FrameError('timeout', `no complete reply within ${opts.timeoutMs} ms`)), opts.timeoutMs);

    function finish(err: Error | null, value?: T, rest?: Buffer) {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      opts.signal?.removeEventListener('abort', onAbort);
      if (rest && rest.length > 0) socket.unshift(rest);
      if (err) reject(err);
      else resolve(value as T);
    }
    function onReadable() {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        let decoded;
        try {
          decoded = decode(buffered, 0);
        } catch (err) {
          finish(err as Error);
          return;
        }
        if (decoded !== NEED_MORE) {
          finish(null, decoded.value, buffered.subarray(decoded.bytesRead));
          return;
        }
      }
    }
    function onEnd() {
      finish(new FrameError('eof', buffered.length ? 'connection closed in the middle of a reply' : 'connection closed before any reply'));
    }
    function onError(err: Error) {
      finish(new FrameError('socket', err.message, { cause: err }));
    }
    function onAbort() {
      finish(new FrameError('aborted', 'aborted'));
    }

    if (opts.signal?.aborted) return onAbort();
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    onReadable();
  });
}
