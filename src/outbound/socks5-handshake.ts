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
} from '../codec/socks5.js';
import { NEED_MORE, type Decoder, type NeedMore } from '../core/need-more.js';
import { decodeStep } from './handshake.js';
import type { Handshake, HandshakeProgress } from '../adapter/handshake.js';
import { runHandshake } from './socket-handshake.js';
import { Socks5Refusal } from './upstream-refusal.js';

export interface Socks5Credentials {
  readonly username: string;
  readonly password: string;
}

/** What the SOCKS5 handshake sends; the machine needs nothing else. */
export interface Socks5RequestOptions {
  readonly credentials?: Socks5Credentials;
  /** Write greeting, credentials and request at once, before reading any reply (one round trip). */
  readonly pipelined: boolean;
  readonly command?: number;
  /** Bytes for the destination, written right behind the request (pipelined only). */
  readonly earlyData?: Buffer;
}

export interface Socks5HandshakeOptions extends Socks5RequestOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** How far a handshake got; the pipelining probe needs to know where a server went silent. */
export type Socks5Stage = 'method' | 'auth' | 'reply';

/** Codes of a handshake whose request the server read and turned down (at the 'reply' stage). */
export const REQUEST_REFUSALS: readonly string[] = [ErrorCode.UPSTREAM_REFUSED, ErrorCode.UPSTREAM_CLOSED, ErrorCode.UPSTREAM_RESET];

const EXPECTING: Record<Socks5Stage, string> = {
  method: 'SOCKS5 method selection',
  auth: 'SOCKS5 login reply',
  reply: 'SOCKS5 reply',
};

/** What comes before the request: it depends only on the login and the mode, so it is encoded once per login. */
interface Preamble {
  readonly methods: readonly number[];
  readonly greeting: Buffer;
  readonly auth?: Buffer;
}

const ANONYMOUS: Preamble = { methods: [AuthMethod.NONE], greeting: encodeGreeting([AuthMethod.NONE]) };
const preambles = new WeakMap<Socks5Credentials, { pipelined: Preamble; stepwise: Preamble }>();

function preamble(credentials: Socks5Credentials | undefined, pipelined: boolean): Preamble {
  if (!credentials) return ANONYMOUS;
  let both = preambles.get(credentials);
  if (!both) {
    const auth = encodeUserPassRequest(credentials.username, credentials.password);
    const stepwise = [AuthMethod.NONE, AuthMethod.USERPASS];
    both = {
      pipelined: { methods: [AuthMethod.USERPASS], greeting: encodeGreeting([AuthMethod.USERPASS]), auth },
      stepwise: { methods: stepwise, greeting: encodeGreeting(stepwise), auth },
    };
    preambles.set(credentials, both);
  }
  return pipelined ? both.pipelined : both.stepwise;
}

/**
 * RFC 1928/1929 client side. Pipelined, it offers only the one method it will use, so the bytes that
 * follow the greeting mean the same to the server whichever way it reads them.
 */
export class Socks5Handshake implements Handshake {
  readonly opening: Buffer;
  readonly pipelined: boolean;
  private at: Socks5Stage = 'method';
  private boundAddr?: SocksAddr;
  private readonly methods: readonly number[];
  /** The login request: present exactly when there are credentials. */
  private readonly auth?: Buffer;
  private readonly request: Buffer;
  /** Bytes of `received` already taken by earlier replies. */
  private offset = 0;

  constructor(dst: SocksAddr, opts: Socks5RequestOptions) {
    const { credentials, pipelined } = opts;
    if (opts.earlyData && !pipelined) throw new RangeError('early data needs a pipelined handshake');
    this.pipelined = pipelined;
    const { methods, greeting, auth } = preamble(credentials, pipelined);
    this.methods = methods;
    this.auth = auth;
    this.request = encodeRequest(opts.command ?? Socks5Command.CONNECT, dst);
    const parts = [greeting, ...(this.auth ? [this.auth] : []), this.request, ...(opts.earlyData ? [opts.earlyData] : [])];
    this.opening = pipelined ? Buffer.concat(parts) : greeting;
  }

  /** The server's reply being waited for; where it stopped once it failed. */
  get stage(): Socks5Stage {
    return this.at;
  }

  /** The address the server bound, once done (UDP ASSOCIATE: where to send datagrams). */
  get bound(): SocksAddr | undefined {
    return this.boundAddr;
  }

  get expecting(): string {
    return EXPECTING[this.at];
  }

  advance(received: Buffer): HandshakeProgress {
    for (;;) {
      const next = this.step(received);
      if (next === NEED_MORE) return NEED_MORE;
      if (next === undefined) return { done: this.offset };
      // Pipelined, the server already has the next message, so its reply may be in `received` too.
      if (!this.pipelined) return { send: next };
    }
  }

  /** Checks the reply `stage` waits for and moves on; returns the message that comes next (none after the last reply). */
  private step(received: Buffer): Buffer | NeedMore | undefined {
    switch (this.at) {
      case 'method': {
        const method = this.read(decodeMethodSelection, received);
        if (method === NEED_MORE) return NEED_MORE;
        if (method === AuthMethod.NO_ACCEPTABLE) {
          throw new SgError(
            this.auth ? ErrorCode.AUTH_FAILED : ErrorCode.AUTH_REQUIRED,
            this.auth ? 'upstream accepts no username/password login' : 'upstream requires authentication; configure a username and password',
          );
        }
        if (!this.methods.includes(method)) {
          throw new SgError(ErrorCode.MALFORMED_REPLY, `upstream chose method 0x${method.toString(16)}, which was not offered`);
        }
        if (method === AuthMethod.USERPASS && this.auth) return this.moveTo('auth', this.auth);
        return this.moveTo('reply', this.request);
      }
      case 'auth': {
        const status = this.read(decodeUserPassReply, received);
        if (status === NEED_MORE) return NEED_MORE;
        if (status !== 0) throw new SgError(ErrorCode.AUTH_FAILED, 'upstream rejected the username/password');
        return this.moveTo('reply', this.request);
      }
      case 'reply': {
        const decoded = this.read(decodeReply, received);
        if (decoded === NEED_MORE) return NEED_MORE;
        if (decoded.reply !== Socks5Reply.SUCCEEDED) throw new Socks5Refusal(decoded.reply);
        this.boundAddr = decoded.bound;
        return undefined;
      }
    }
  }

  private moveTo(stage: Socks5Stage, message: Buffer): Buffer {
    this.at = stage;
    return message;
  }

  /** Decodes the reply at `offset` and moves past it. */
  private read<T>(decode: Decoder<T>, received: Buffer): T | NeedMore {
    const decoded = decodeStep(decode, received, this.offset, this.expecting);
    if (decoded === NEED_MORE) return NEED_MORE;
    this.offset += decoded.bytesRead;
    return decoded.value;
  }
}

/**
 * The handshake over a Node socket; returns the bound address. `onStage` hears the stage at the
 * start and where the handshake ended (callers only act on it once it settled).
 */
export async function socks5Handshake(
  socket: Socket,
  dst: SocksAddr,
  opts: Socks5HandshakeOptions,
  onStage: (stage: Socks5Stage) => void = () => {},
): Promise<SocksAddr> {
  const handshake = new Socks5Handshake(dst, opts);
  onStage(handshake.stage);
  try {
    await runHandshake(socket, handshake, opts);
  } finally {
    onStage(handshake.stage);
  }
  return handshake.bound!;
}
