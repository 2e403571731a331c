import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';

/**
 * A client that waits for word of the dial before any byte is relayed (a SOCKS or HTTP proxy
 * client): the router tells it the outcome once, after the upstream dial succeeded or failed.
 */
export interface DialAnswer {
  /**
   * The upstream connection is up: writes the success reply, naming `bound` (the upstream
   * connection's local address, where known). Resolves once written; rejects when the client left.
   */
  connected(bound: SocksAddr | undefined): Promise<void>;
  /**
   * The success reply naming `bound`, as bytes the native relay writes to the client's fd before
   * any relayed byte. Absent: the client is answered on its Node socket only (its request was
   * rewritten there, e.g. a plain HTTP proxy request).
   */
  readonly successReply?: (bound: SocksAddr | undefined) => Buffer;
  /** The dial failed or a rule refused it: writes the failure reply that fits `err`, then closes (instead of a reset). */
  failed(err: unknown): void;
}

/**
 * An accepted client connection as the stages after the inbound see it: a raw fd for the native
 * path, or a Node socket for a flow that needs Node to read or write it.
 */
export interface ClientConn {
  readonly fd: number;
  /** The fd as a paused, half-open capable Node socket, which owns it from then on. */
  socket(): Socket;
  /** Refuses the connection with a reset, so the application sees it failed. */
  reset(): void;
  /** Present for a client that must be answered (see DialAnswer); absent: a diverted connection, reset on failure. */
  readonly answer?: DialAnswer;
  /**
   * Bytes the inbound already read past the client's request (pipelined data): they go upstream
   * before any other on the native path; `socket()` puts them back in front of the socket's.
   */
  readonly unsent?: Buffer;
}
