import type { Socket } from 'node:net';
import { CodecError, type Decoder } from '../codec/need-more.js';
import { ErrorCode, SgError } from '../core/errors.js';
import { FrameError, readFrame } from '../relay/read-frame.js';

/** One deadline shared by every step of a handshake. */
export class Deadline {
  private readonly end: number;
  constructor(readonly totalMs: number) {
    this.end = Date.now() + totalMs;
  }
  remainingMs(): number {
    return Math.max(1, this.end - Date.now());
  }
}

/** Reads one handshake reply and turns every way it can go wrong into a catalogued SgError. */
export async function expectFrame<T>(
  socket: Socket,
  decode: Decoder<T>,
  what: string,
  deadline: Deadline,
  signal?: AbortSignal,
): Promise<T> {
  try {
    return await readFrame(socket, decode, { timeoutMs: deadline.remainingMs(), signal });
  } catch (err) {
    if (err instanceof CodecError) throw new SgError(ErrorCode.MALFORMED_REPLY, `malformed ${what}: ${err.message}`, { cause: err });
    if (!(err instanceof FrameError)) throw err;
    switch (err.reason) {
      case 'timeout':
        throw new SgError(ErrorCode.HANDSHAKE_TIMEOUT, `no ${what} within ${deadline.totalMs} ms`);
      case 'eof':
        throw new SgError(ErrorCode.UPSTREAM_CLOSED, `upstream closed the connection instead of sending ${what}`);
      case 'aborted':
        throw new SgError(ErrorCode.ABORTED, 'client went away during the handshake');
      case 'socket':
        throw new SgError(ErrorCode.UPSTREAM_RESET, `upstream connection failed while waiting for ${what}: ${err.message}`, { cause: err });
    }
  }
}
