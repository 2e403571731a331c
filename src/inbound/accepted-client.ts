import { Socket } from 'node:net';
import type { ClientConn } from '../adapter/client-conn.js';
import { clientReset } from '../native/client-read.js';

/** Swallows a client socket's 'error' ('close' follows it): one function, not a closure per connection. */
function ignoreError(): void {}

/**
 * A diverted connection as the kernel handed it over: a raw fd (TCP_NODELAY from the listener),
 * wrapped in a Node socket only for a flow that needs Node to read or write it.
 */
export class AcceptedClient implements ClientConn {
  private wrapped?: Socket;
  /** Reset while still a raw fd: the number is no longer ours. */
  private resetRaw = false;

  constructor(readonly fd: number) {}

  socket(): Socket {
    if (!this.wrapped && this.resetRaw) {
      this.wrapped = new Socket();
      this.wrapped.destroy();
    } else if (!this.wrapped) {
      // pauseOnCreate: nothing is read until the flow asks (the bytes may go to a sniffer or the upstream).
      this.wrapped = new Socket({ fd: this.fd, allowHalfOpen: true, readable: true, writable: true, pauseOnCreate: true } as ConstructorParameters<typeof Socket>[0]);
      this.wrapped.on('error', ignoreError);
    }
    return this.wrapped;
  }

  reset(): void {
    if (this.wrapped) {
      if (!this.wrapped.destroyed) this.wrapped.resetAndDestroy();
    } else if (!this.resetRaw) {
      // Without a Node socket, which would load node:net into a daemon that may not need it yet (a
      // connection without a destination, refused at once).
      this.resetRaw = true;
      clientReset(this.fd);
    }
  }
}
