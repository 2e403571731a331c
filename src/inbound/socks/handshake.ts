import type { Socket } from 'node:net';
import type { DialAnswer } from '../../adapter/client-conn.js';
import type { SocksAddr } from '../../core/addr.js';
import type { NeedMore } from '../../core/need-more.js';
import type { SocksCommandHandler, SocksCommands } from './commands.js';
import type { ProxyClientConn } from './proxy-client-conn.js';
import { failureOf, type EncodeReply } from './reply-code.js';
import type { SocksUsers } from './users.js';

/** What one protocol's server steps get: the client, the logins and the extra commands. */
export interface HandshakeContext {
  readonly client: ProxyClientConn;
  readonly src: SocksAddr;
  readonly users: SocksUsers;
  readonly commands: SocksCommands;
  /** Logs why a client was turned away (throttled): a failed login, a method or command not served. */
  refused(reason: string, message: string, user?: string): void;
}

/**
 * One protocol's server side as steps over what has arrived: `advance` takes every message that is
 * complete, answers it, and returns how the handshake ended, or NEED_MORE to wait for more bytes.
 * Throws on bytes that do not parse (after answering, where the protocol has an answer for it).
 */
export interface ServerSteps {
  advance(): HandshakeResult | NeedMore;
}

/** How a handshake ended: a CONNECT for the router, or already answered (refused, or served by a command). */
export type HandshakeResult =
  | { readonly kind: 'connect'; readonly target: SocksAddr; readonly user: string | undefined; readonly answer: DialAnswer }
  | { readonly kind: 'answered' };

export const ANSWERED: HandshakeResult = Object.freeze({ kind: 'answered' });

/** Writes a last message on a command's Node socket and closes once it is flushed: a refused client sees why, then EOF. */
export function closeWith(socket: Socket, bytes: Buffer): void {
  if (!socket.destroyed) socket.end(bytes, () => socket.destroy());
}

/** The DialAnswer of a client that is answered with `encode`'s replies, on its Node socket or by the addon. */
export class ClientAnswer implements DialAnswer {
  constructor(
    private readonly client: ProxyClientConn,
    private readonly encode: EncodeReply,
  ) {}

  connected(bound: SocksAddr | undefined): Promise<void> {
    const socket = this.client.socket();
    return new Promise<void>((resolve, reject) => {
      socket.write(this.encode('succeeded', bound), (err) => (err ? reject(err) : resolve()));
    });
  }

  successReply(bound: SocksAddr | undefined): Buffer {
    return this.encode('succeeded', bound);
  }

  failed(err: unknown): void {
    this.client.closeWith(this.encode(failureOf(err)));
  }
}

/**
 * A command besides CONNECT, after the request and any login: its handler takes the connection,
 * or, with none, the client is told "command not supported" and the connection closes.
 */
export function runCommand(c: HandshakeContext, handler: SocksCommandHandler | undefined, request: { version: 4 | 5; command: number; target: SocksAddr; user: string | undefined; encode: EncodeReply }): HandshakeResult {
  const { version, command, target, user, encode } = request;
  if (handler) handler({ version, socket: c.client.socket(), src: c.src, target, user, encode });
  else {
    c.client.closeWith(encode('command-not-supported'));
    c.refused(`SOCKS${version}_COMMAND_NOT_SUPPORTED`, `SOCKS${version} command ${command} is not served`, user);
  }
  return ANSWERED;
}
