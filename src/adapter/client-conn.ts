import type { Socket } from 'node:net';

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
}
