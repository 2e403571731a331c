import type { Socket } from 'node:net';
import type { DialAnswer } from '../../adapter/client-conn.js';
import type { SocksAddr } from '../../core/addr.js';
import type { ClientReader } from './client-reader.js';
import type { SocksCommandHandler, SocksCommands } from './commands.js';
import { failureOf, type EncodeReply } from './reply-code.js';
import type { SocksUsers } from './users.js';

/** What one protocol's server steps get: the client, its reader, the logins and the extra commands. */
export interface HandshakeContext {
  readonly socket: Socket;
  readonly reader: ClientReader;
  readonly src: SocksAddr;
  readonly users: SocksUsers;
  readonly commands: SocksCommands;
  /** Logs why a client was turned away (throttled): a failed login, a method or command not served. */
  refused(reason: string, message: string, user?: string): void;
}

/** How a handshake ended: a CONNECT for the router, or already answered (refused, or served by a command). */
export type HandshakeResult =
  | { readonly kind: 'connect'; readonly target: SocksAddr; readonly user: string | undefined; readonly answer: DialAnswer }
  | { readonly kind: 'answered' };

export const ANSWERED: HandshakeResult = Object.freeze({ kind: 'answered' });

/** Writes a last message and closes once it is flushed: a refused client sees why, then EOF. */
export function closeWith(socket: Socket, bytes: Buffer): void {
  if (!socket.destroyed) socket.end(bytes, () => socket.destroy());
}

/** The DialAnswer of a client that is answered with `encode`'s replies. */
export function dialAnswer(socket: Socket, encode: EncodeReply): DialAnswer {
  return {
    connected: (bound) =>
      new Promise<void>((resolve, reject) => {
        socket.write(encode('succeeded', bound), (err) => (err ? reject(err) : resolve()));
      }),
    failed: (err) => closeWith(socket, encode(failureOf(err))),
  };
}

/**
 * A command besides CONNECT, after the request and any login: its handler takes the connection,
 * or, with none, the client is told "command not supported" and the connection closes.
 */
export function runCommand(c: HandshakeContext, handler: SocksCommandHandler | undefined, request: { version: 4 | 5; command: number; target: SocksAddr; user: string | undefined; encode: EncodeReply }): HandshakeResult {
  const { version, command, target, user, encode } = request;
  if (handler) handler({ version, socket: c.socket, reader: c.reader, src: c.src, target, user, encode });
  else {
    closeWith(c.socket, encode('command-not-supported'));
    c.refused(`SOCKS${version}_COMMAND_NOT_SUPPORTED`, `SOCKS${version} command ${command} is not served`, user);
  }
  return ANSWERED;
}
