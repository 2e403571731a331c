import { ErrorCode, SgError } from '../core/errors.js';
import { CodecError, type Decoded, type Decoder } from '../core/need-more.js';
import type { Handshake } from '../adapter/handshake.js';

/** Why a handshake stopped before completing, as its driver (Node socket or native dialer) saw it. */
export type HandshakeFailure = 'timeout' | 'eof' | 'aborted' | 'socket';

/** The catalogued error for a handshake that did not complete, so every driver reports it alike. */
export function handshakeFailure(reason: HandshakeFailure, handshake: Handshake, timeoutMs: number, cause?: Error): SgError {
  const what = handshake.expecting;
  switch (reason) {
    case 'timeout':
      return new SgError(ErrorCode.HANDSHAKE_TIMEOUT, `no ${what} within ${timeoutMs} ms`);
    case 'eof':
      return new SgError(ErrorCode.UPSTREAM_CLOSED, `upstream closed the connection instead of sending ${what}`);
    case 'aborted':
      return new SgError(ErrorCode.ABORTED, 'client went away during the handshake');
    case 'socket':
      return new SgError(ErrorCode.UPSTREAM_RESET, `upstream connection failed while waiting for ${what}: ${cause?.message}`, { cause });
  }
}

/** Decodes one server message of a handshake; bytes that do not parse are a malformed reply. */
export function decodeStep<T>(decode: Decoder<T>, received: Buffer, offset: number, what: string): Decoded<T> {
  try {
    return decode(received, offset);
  } catch (err) {
    if (err instanceof CodecError) throw new SgError(ErrorCode.MALFORMED_REPLY, `malformed ${what}: ${err.message}`, { cause: err });
    throw err;
  }
}
