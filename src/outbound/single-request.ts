import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import type { UpstreamConfig } from '../config/upstream.js';
import { Deadline } from './expect-frame.js';
import type { DialContext, DialSettings, Outbound } from './outbound.js';
import { connectTcp } from './tcp-connect.js';

/**
 * The handshake of a protocol that is one request and one reply (SOCKS4/4a, HTTP CONNECT);
 * `earlyData` goes in the request's write.
 */
export type RequestReply = (socket: Socket, dst: SocksAddr, deadline: Deadline, signal?: AbortSignal, earlyData?: Buffer) => Promise<void>;

/** An outbound whose handshake takes one round trip by nature, so there is nothing to pipeline. */
export class SingleRequestOutbound implements Outbound {
  readonly name: string;
  readonly server: SocksAddr;
  private readonly earlyData: boolean;

  constructor(
    upstream: UpstreamConfig,
    private readonly settings: DialSettings,
    private readonly handshake: RequestReply,
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

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    const socket = await connectTcp(this.server, { mark, timeoutMs: connectTimeoutMs, signal: ctx.signal });
    const data = await ctx.earlyData;
    try {
      await this.handshake(socket, dst, new Deadline(handshakeTimeoutMs), ctx.signal, this.earlyData ? data : undefined);
      if (data && !this.earlyData) socket.write(data);
      return socket;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
}
