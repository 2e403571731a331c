import type { Socket } from 'node:net';
import type { SocksAddr } from '../../core/addr.js';
import type { EncodeReply } from './reply-code.js';

/**
 * A SOCKS command besides CONNECT, once the client's request has parsed (and its login, if any,
 * succeeded). The handler owns the connection from then on: it sends every reply (`encode` speaks
 * the client's SOCKS version) and closes it.
 */
export interface SocksCommandRequest {
  readonly version: 4 | 5;
  /** Paused; bytes the client sent past its request are back in it, in front. */
  readonly socket: Socket;
  readonly src: SocksAddr;
  /** DST.ADDR:DST.PORT as the client sent it. */
  readonly target: SocksAddr;
  readonly user: string | undefined;
  readonly encode: EncodeReply;
}

export type SocksCommandHandler = (request: SocksCommandRequest) => void;

/**
 * The commands served besides CONNECT, each in its own file (bind.ts, udp-associate.ts). A
 * command without a handler is answered "command not supported" (SOCKS5 REP 7, SOCKS4 CD 0x5b),
 * which is what RFC 1928 asks of a server that does not serve it.
 */
export interface SocksCommands {
  readonly bind?: SocksCommandHandler;
  readonly udpAssociate?: SocksCommandHandler;
}
