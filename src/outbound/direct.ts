import { lookup } from 'node:dns/promises';
import type { Socket } from 'node:net';
import { addrOf, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode } from '../core/errors.js';
import type { BindContext, DialContext, DialSettings, Outbound } from '../adapter/outbound.js';
import type { DialPlan, Handshake } from '../adapter/handshake.js';
import type { BindListener } from '../adapter/bind.js';
import type { UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import { directBind } from './direct-bind.js';
import { DirectAssociation } from './direct-udp.js';
import type { Socks5UdpSettings } from './socks5-udp.js';
import { connectTcp } from './tcp-connect.js';

/** Turns a name into an address for a direct connection. */
export type DirectResolve = (host: string) => Promise<string>;

/** The system resolver (getaddrinfo), for direct flows when no direct resolver is configured. */
export const systemResolve: DirectResolve = async (host) => (await lookup(host)).address;

const UNROUTED: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

const CONNECTED = Object.freeze({ done: 0 });

/** A direct connection has no handshake: it is ready once connected, and the server may speak first. */
export const NO_HANDSHAKE: Handshake = Object.freeze({
  opening: Buffer.alloc(0),
  expecting: 'nothing (a direct connection)',
  advance: () => CONNECTED,
});

function settled(): void {}

/**
 * `action: direct`: the daemon connects to the destination itself, with its mark, so the
 * connection is not diverted again. A destination given by name (fake-IP) is resolved first.
 */
export class DirectOutbound implements Outbound {
  readonly name = 'direct';
  readonly server = UNROUTED;
  readonly dialsAddressItself = true;

  constructor(
    private readonly settings: DialSettings & Pick<Socks5UdpSettings, 'openSocket'>,
    private readonly resolve: DirectResolve = systemResolve,
  ) {}

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const target = await this.resolveAddress(dst);
    const socket = await connectTcp(target, { mark: this.settings.mark, timeoutMs: this.settings.connectTimeoutMs, signal: ctx.signal });
    const data = await ctx.earlyData;
    if (data) socket.write(data);
    return socket;
  }

  /** An address is dialed by the addon (connect only); a name is resolved first (resolveAddress), then planned. */
  plan(dst: SocksAddr): DialPlan | undefined {
    if (dst.kind === 'domain') return undefined;
    const { mark, connectTimeoutMs } = this.settings;
    // The handshake timeout never runs: the dial is done as soon as it is connected.
    return { server: dst, mark, connectTimeoutMs, handshakeTimeoutMs: connectTimeoutMs, handshake: NO_HANDSHAKE, settle: settled };
  }

  async associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    if (signal?.aborted) throw new SgError(ErrorCode.ABORTED, 'client went away');
    return new DirectAssociation(this.settings.openSocket, (dst) => this.resolveAddress(dst), events, client);
  }

  async bind(peer: SocksAddr, ctx: BindContext): Promise<BindListener> {
    return directBind(await this.resolveAddress(peer), ctx.localHost);
  }

  /** A name's address from the direct resolver; one that does not resolve is UPSTREAM_UNREACHABLE (host unreachable to a proxy client). */
  async resolveAddress(dst: SocksAddr): Promise<SocksAddr> {
    if (dst.kind !== 'domain') return dst;
    try {
      return addrOf(await this.resolve(dst.host), dst.port);
    } catch (err) {
      throw new SgError(ErrorCode.UPSTREAM_UNREACHABLE, `cannot resolve ${dst.host} for a direct connection: ${errorCode(err)}`, { cause: err });
    }
  }
}
