import type { Socket } from 'node:net';
import { addrOf, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode } from '../core/errors.js';
import { NEED_MORE } from '../core/need-more.js';
import { Socks5Command, Socks5Reply, decodeReply, socks5ReplyReason } from '../codec/socks5.js';
import type { BindListener, BoundConnection } from '../adapter/bind.js';
import type { Handshake, HandshakeProgress } from '../adapter/handshake.js';
import type { DialContext, DialSettings } from '../adapter/outbound.js';
import { decodeStep } from './handshake.js';
import { runHandshake } from './socket-handshake.js';
import { Socks5Handshake, type Socks5Credentials } from './socks5-handshake.js';
import { connectTcp } from './tcp-connect.js';
import { relayAddress } from './udp-relay-address.js';

const NOTHING = Buffer.alloc(0);

/** The second BIND reply: sent by the server once the remote connected, naming it. */
class SecondBindReply implements Handshake {
  readonly opening = NOTHING;
  readonly expecting = 'SOCKS5 second BIND reply';
  peer?: SocksAddr;

  advance(received: Buffer): HandshakeProgress {
    const decoded = decodeStep(decodeReply, received, 0, this.expecting);
    if (decoded === NEED_MORE) return NEED_MORE;
    const { reply, bound } = decoded.value;
    if (reply !== Socks5Reply.SUCCEEDED) throw new SgError(ErrorCode.UPSTREAM_REFUSED, `upstream BIND failed: ${socks5ReplyReason(reply)}`);
    this.peer = bound.kind === 'domain' ? bound : addrOf(bound.host, bound.port);
    return { done: decoded.bytesRead };
  }
}

class UpstreamBind implements BindListener {
  constructor(
    private readonly socket: Socket,
    readonly bound: SocksAddr,
  ) {}

  async accepted(timeoutMs: number): Promise<BoundConnection> {
    const second = new SecondBindReply();
    try {
      await runHandshake(this.socket, second, { timeoutMs });
    } catch (err) {
      this.socket.destroy();
      if (errorCode(err) === ErrorCode.HANDSHAKE_TIMEOUT) throw new SgError(ErrorCode.BIND_TIMEOUT, `nobody connected to the upstream's BIND port within ${timeoutMs} ms`);
      throw err;
    }
    return { socket: this.socket, peer: second.peer! };
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * BIND through a SOCKS5 server: the server listens, the remote connects to it, and this control
 * connection becomes the data stream. Step by step (a BIND is rare; no pipelining to learn). An
 * unspecified or loopback address in the first reply means the server's own, as for UDP relays.
 */
export async function socks5Bind(server: SocksAddr, credentials: Socks5Credentials | undefined, settings: DialSettings, peer: SocksAddr, ctx: DialContext): Promise<BindListener> {
  const socket = await connectTcp(server, { mark: settings.mark, timeoutMs: settings.connectTimeoutMs, signal: ctx.signal });
  const first = new Socks5Handshake(peer, { credentials, pipelined: false, command: Socks5Command.BIND });
  try {
    await runHandshake(socket, first, { timeoutMs: settings.handshakeTimeoutMs, signal: ctx.signal });
  } catch (err) {
    socket.destroy();
    if (errorCode(err) === ErrorCode.UPSTREAM_REFUSED) throw new SgError(ErrorCode.BIND_UNSUPPORTED, (err as Error).message, { cause: err });
    throw err;
  }
  return new UpstreamBind(socket, relayAddress(first.bound!, server).addr);
}
