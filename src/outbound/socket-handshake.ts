import type { Socket } from 'node:net';
import { NEED_MORE } from '../core/need-more.js';
import { handshakeFailure, type HandshakeFailure } from './handshake.js';
import type { Handshake, HandshakeProgress } from '../adapter/handshake.js';

export interface RunHandshakeOptions {
  /** One deadline for the whole handshake, every step included. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

const EMPTY = Buffer.alloc(0);

/**
 * Runs `handshake` over a connected, paused socket. Bytes the server sent past the handshake are
 * unshifted back, so the relay reads them first. Every failure is a catalogued SgError.
 */
export function runHandshake(socket: Socket, handshake: Handshake, opts: RunHandshakeOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let received: Buffer = EMPTY;
    const timer = setTimeout(() => fail('timeout'), opts.timeoutMs);

    function finish(err: unknown, rest?: Buffer) {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      opts.signal?.removeEventListener('abort', onAbort);
      if (rest && rest.length > 0) socket.unshift(rest);
      if (err) reject(err);
      else resolve();
    }
    function fail(reason: HandshakeFailure, cause?: Error) {
      finish(handshakeFailure(reason, handshake, opts.timeoutMs, cause));
    }
    function onReadable() {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        let progress: HandshakeProgress;
        try {
          // Asked again after each write: what the server sent may already hold the next step's reply.
          while ((progress = handshake.advance(received)) !== NEED_MORE && 'send' in progress) socket.write(progress.send);
        } catch (err) {
          return finish(err);
        }
        if (progress !== NEED_MORE) return finish(undefined, received.subarray(progress.done));
      }
    }
    function onEnd() {
      fail('eof');
    }
    function onError(err: Error) {
      fail('socket', err);
    }
    function onAbort() {
      fail('aborted');
    }

    if (opts.signal?.aborted) return onAbort();
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.write(handshake.opening);
    onReadable();
  });
}
