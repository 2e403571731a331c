import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import {
  AuthMethod,
  Socks5Command,
  Socks5Reply,
  decodeMethodSelection,
  decodeReply,
  decodeUserPassReply,
  encodeGreeting,
  encodeRequest,
  encodeUserPassRequest,
  socks5ReplyReason,
} from '../codec/socks5.js';
import { Deadline, expectFrame } from './expect-frame.js';

export interface Socks5Credentials {
  readonly username: string;
  readonly password: string;
}

export interface Socks5HandshakeOptions {
  readonly credentials?: Socks5Credentials;
  /** Write greeting, credentials and request at once, before reading any reply (one round trip). */
  readonly pipelined: boolean;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly command?: number;
  /** Bytes for the destination, written right behind the request (pipelined only). */
  readonly earlyData?: Buffer;
}

/** How far a handshake got; the pipelining probe needs to know where a server went silent. */
export type Socks5Stage = 'method' | 'auth' | 'reply';

/** Codes of a handshake whose request the server read and turned down (at the 'reply' stage). */
export const REQUEST_REFUSALS: readonly string[] = [ErrorCode.UPSTREAM_REFUSED, ErrorCode.UPSTREAM_CLOSED, ErrorCode.UPSTREAM_RESET];

/**
 * RFC 1928/1929 client side. Pipelined, it offers only the one method it will use, so the bytes that
 * follow the greeting mean the same to the server whichever way it reads them.
 */
export async function socks5Handshake(
  socket: Socket,
  dst: SocksAddr,
  opts: Socks5HandshakeOptions,
  onStage: (stage: Socks5Stage) => void = () => {},
): Promise<SocksAddr> {
  const deadline = new Deadline(opts.timeoutMs);
  const { credentials, signal } = opts;
  const methods: readonly number[] = credentials ? (opts.pipelined ? [AuthMethod.USERPASS] : [AuthMethod.NONE, AuthMethod.USERPASS]) : [AuthMethod.NONE];
  const greeting = encodeGreeting(methods);
  const auth = credentials ? encodeUserPassRequest(credentials.username, credentials.password) : undefined;
  const request = encodeRequest(opts.command ?? Socks5Command.CONNECT, dst);

  if (opts.earlyData && !opts.pipelined) throw new RangeError('early data needs a pipelined handshake');
  const tail = opts.earlyData ? [request, opts.earlyData] : [request];
  socket.write(opts.pipelined ? Buffer.concat(auth ? [greeting, auth, ...tail] : [greeting, ...tail]) : greeting);
  onStage('method');
  const method = await expectFrame(socket, decodeMethodSelection, 'SOCKS5 method selection', deadline, signal);
  if (method === AuthMethod.NO_ACCEPTABLE) {
    throw new SgError(
      credentials ? ErrorCode.AUTH_FAILED : ErrorCode.AUTH_REQUIRED,
      credentials ? 'upstream accepts no username/password login' : 'upstream requires authentication; configure a username and password',
    );
  }
  if (!methods.includes(method)) {
    throw new SgError(ErrorCode.MALFORMED_REPLY, `upstream chose method 0x${method.toString(16)}, which was not offered`);
  }
  if (method === AuthMethod.USERPASS && auth) {
    if (!opts.pipelined) socket.write(auth);
    onStage('auth');
    const status = await expectFrame(socket, decodeUserPassReply, 'SOCKS5 login reply', deadline, signal);
    if (status !== 0) throw new SgError(ErrorCode.AUTH_FAILED, 'upstream rejected the username/password');
  }
  if (!opts.pipelined) socket.write(request);
  onStage('reply');
  const { reply, bound } = await expectFrame(socket, decodeReply, 'SOCKS5 reply', deadline, signal);
  if (reply !== Socks5Reply.SUCCEEDED) {
    throw new SgError(ErrorCode.UPSTREAM_REFUSED, `upstream refused: ${socks5ReplyReason(reply)}`);
  }
  return bound;
}
