import { Socket } from 'node:net';
import type { ClientConn, DialAnswer } from '../../adapter/client-conn.js';
import { ErrorCode, SgError } from '../../core/errors.js';
import { NEED_MORE, type Decoder, type NeedMore } from '../../core/need-more.js';
import { nativeBinding } from '../../native/index.js';
import { clientRead, ClientReadEnd, clientReadStop, clientReset, clientSend, type ClientReadEvents } from '../../native/client-read.js';

const EMPTY = Buffer.alloc(0);

/** Swallows a client socket's 'error' ('close' follows it): one function, not a closure per connection. */
function ignoreError(): void {}

function endError(end: number, errno: number): SgError {
  if (end === ClientReadEnd.TIMEOUT) return new SgError(ErrorCode.HANDSHAKE_TIMEOUT, 'client did not finish its handshake in time');
  const detail = end === ClientReadEnd.ERROR ? ` (errno ${errno})` : '';
  return new SgError(ErrorCode.CLIENT_RESET, `client closed the connection during the handshake${detail}`);
}

/** Who is told of each arrival: the server's steps for this client. */
export interface HandshakeDriver {
  /** More bytes arrived: take what can be decoded now (`take`), answer, or wait for more. */
  advance(): void;
  /** The client closed, failed or ran out of time before the handshake was over; the reading has stopped. */
  fail(err: SgError): void;
}

/**
 * A proxy client's connection through its handshake, read and answered in the addon (no Node
 * socket, no promise per message): each arrival drives the server's steps, which take the messages
 * that are complete, under one deadline for the whole handshake. Bytes past the last message are
 * kept: they go upstream first (`unsent`), or back into the Node socket when a flow needs one
 * (`socket()`, which from then on owns the fd).
 */
export class ProxyClientConn implements ClientConn, ClientReadEvents {
  private buffered: Buffer = EMPTY;
  private reading = true;
  private wrapped: Socket | undefined;
  private closed = false;
  answer: DialAnswer | undefined;

  constructor(
    readonly fd: number,
    timeoutMs: number,
    private readonly driver: HandshakeDriver,
  ) {
    clientRead(fd, timeoutMs, this);
  }

  /** The first byte received, if any, left in place. */
  peek(): number | undefined {
    return this.buffered.length > 0 ? this.buffered[0] : undefined;
  }

  /** The next message if all of it has arrived (then consumed), else NEED_MORE; throws the decoder's CodecError. */
  take<T>(decode: Decoder<T>): T | NeedMore {
    const result = decode(this.buffered, 0);
    if (result === NEED_MORE) return NEED_MORE;
    this.buffered = this.buffered.subarray(result.bytesRead);
    return result.value;
  }

  onData(chunk: Buffer): void {
    // The chunk lives in the addon's shared buffer: copied.
    this.buffered = this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    this.driver.advance();
  }

  onEnd(end: number, errno: number): void {
    this.reading = false;
    this.driver.fail(endError(end, errno));
  }

  /** Writes a handshake reply (a few bytes on a socket that took nothing yet: the kernel takes them whole). */
  write(bytes: Buffer): void {
    if (this.wrapped) {
      this.wrapped.write(bytes);
      return;
    }
    if (this.closed) throw new SgError(ErrorCode.CLIENT_RESET, 'client connection already closed');
    if (clientSend(this.fd, bytes) !== bytes.length) throw new SgError(ErrorCode.CLIENT_RESET, 'client connection failed while being answered');
  }

  /** Writes a last message and closes: a refused client sees why, then EOF. */
  closeWith(bytes: Buffer): void {
    if (this.wrapped) {
      const socket = this.wrapped;
      if (!socket.destroyed && !socket.writableEnded) socket.end(bytes, () => socket.destroy());
      return;
    }
    if (this.closed) return;
    this.stopReading();
    clientSend(this.fd, bytes);
    this.close();
  }

  /** Closes without a word (a handshake that failed or timed out). */
  destroy(): void {
    if (this.wrapped) this.wrapped.destroy();
    else if (!this.closed) {
      this.stopReading();
      this.close();
    }
  }

  reset(): void {
    if (this.wrapped) {
      if (!this.wrapped.destroyed) this.wrapped.resetAndDestroy();
    } else if (!this.closed) {
      this.stopReading();
      this.closed = true;
      clientReset(this.fd);
    }
  }

  /** The handshake is over: nothing more is read here, what follows is the relay's. */
  finish(): void {
    this.stopReading();
  }

  /** Whether the connection was closed, or is closing after a last message. */
  get done(): boolean {
    return this.wrapped ? this.wrapped.destroyed || this.wrapped.writableEnded : this.closed;
  }

  get unsent(): Buffer | undefined {
    return this.buffered.length > 0 ? this.buffered : undefined;
  }

  /** The fd as a paused, half-open capable Node socket (owning it from now on), with the bytes read past the last message back in front. */
  socket(): Socket {
    if (!this.wrapped) {
      this.stopReading();
      // A closed fd number may already be another connection's: never wrapped.
      this.wrapped = this.closed ? new Socket() : new Socket({ fd: this.fd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as ConstructorParameters<typeof Socket>[0]);
      this.wrapped.on('error', ignoreError);
      if (this.closed) this.wrapped.destroy();
      else if (this.buffered.length > 0) this.wrapped.unshift(this.buffered);
      this.buffered = EMPTY;
    }
    return this.wrapped;
  }

  private stopReading(): void {
    if (!this.reading) return;
    this.reading = false;
    clientReadStop(this.fd);
  }

  private close(): void {
    this.closed = true;
    nativeBinding().closeFd(this.fd);
  }
}
