import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';

/** The connection a BIND waited for: its stream and who made it (the second reply). */
export interface BoundConnection {
  readonly socket: Socket;
  readonly peer: SocksAddr;
}

/**
 * A BIND (RFC 1928 §4/§6, SOCKS4 BIND): a port somewhere the remote can reach, announced in the
 * first reply, waiting for the one connection the client's protocol expects (active FTP's data
 * connection). Closed when the connection came, the wait timed out, or the client left.
 */
export interface BindListener {
  /** Where the remote must connect: announced to the client in the first reply. */
  readonly bound: SocksAddr;
  /**
   * The first connection from the expected peer (the BIND request's address; any peer when it
   * named none), or a rejection with SG_ERR_BIND_TIMEOUT after `timeoutMs`, or the upstream's
   * failure. The listener is closed once it settles.
   */
  accepted(timeoutMs: number): Promise<BoundConnection>;
  close(): void;
}
