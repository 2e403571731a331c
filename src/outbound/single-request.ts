import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import type { UpstreamConfig } from '../config/upstream.js';
import { NEED_MORE, type Decoder } from '../core/need-more.js';
import { decodeStep } from './handshake.js';
import type { ChainLeg, DialPlan, Handshake, LegCommand } from '../adapter/handshake.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { DialContext, DialSettings, Outbound } from '../adapter/outbound.js';
import type { UdpAssociation, UdpAssociationEvents, UdpDialer } from '../adapter/udp.js';
import { runHandshake } from './socket-handshake.js';
import { connectTcp } from './tcp-connect.js';

/**
 * The handshake of a protocol that is one request and one reply (SOCKS4/4a, HTTP CONNECT);
 * `earlyData` goes in the request's write. Throws, before anything is sent, for a destination the
 * protocol cannot carry.
 */
export type RequestReply = (dst: SocksAddr, earlyData?: Buffer) => Handshake;

/** The Handshake of one request and one reply, which `check` throws on when it is a refusal. */
export function requestReply<T>(request: Buffer, earlyData: Buffer | undefined, expecting: string, decode: Decoder<T>, check: (reply: T) => void): Handshake {
  return {
    opening: earlyData ? Buffer.concat([request, earlyData]) : request,
    expecting,
    advance(received) {
      const decoded = decodeStep(decode, received, 0, expecting);
      if (decoded === NEED_MORE) return NEED_MORE;
      check(decoded.value);
      return { done: decoded.bytesRead };
    },
  };
}

/** An outbound whose handshake takes one round trip by nature, so there is nothing to pipeline. */
export class SingleRequestOutbound implements Outbound {
  readonly name: string;
  readonly server: SocksAddr;
  private readonly earlyData: boolean;

  constructor(
    upstream: UpstreamConfig,
    private readonly settings: DialSettings,
    private readonly handshake: RequestReply,
    private readonly udp: UdpDialer,
  ) {
    this.name = upstream.name;
    this.server = upstream.server;
    // Nothing here can learn whether a server reads bytes sent behind its request (tinyproxy, Dante's
    // and ssh -D's SOCKS4 do): only `pipelining: on` says so.
    this.earlyData = upstream.pipelining === 'on';
  }

  takesEarlyData(): boolean {
    return this.earlyData;
  }

  associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    return this.udp.associate(client, events, signal);
  }

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    const socket = await connectTcp(this.server, { mark, timeoutMs: connectTimeoutMs, signal: ctx.signal });
    const data = await ctx.earlyData;
    try {
      await runHandshake(socket, this.handshake(dst, this.earlyData ? data : undefined), { timeoutMs: handshakeTimeoutMs, signal: ctx.signal });
      if (data && !this.earlyData) socket.write(data);
      return socket;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /** Throws like dial for a destination the protocol cannot carry. There is nothing to learn from the outcome. */
  plan(dst: SocksAddr): DialPlan | undefined {
    if (this.server.kind === 'domain') return undefined;
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    return { server: this.server, mark, connectTimeoutMs, handshakeTimeoutMs, handshake: this.handshake(dst), settle: () => {} };
  }

  leg(dst: SocksAddr, command: LegCommand): ChainLeg {
    if (command === 'udp-associate') throw new SgError(ErrorCode.UDP_UNSUPPORTED, `${this.name} cannot relay UDP`);
    return { server: this.server, handshake: this.handshake(dst), takesTrailingBytes: this.earlyData, bound: () => undefined, settle: () => {} };
  }
}
