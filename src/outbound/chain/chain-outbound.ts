import type { Socket } from 'node:net';
import type { SocksAddr } from '../../core/addr.js';
import type { Logger } from '../../core/log.js';
import type { ChainLeg, DialPlan, LegCommand } from '../../adapter/handshake.js';
import type { DialContext, Outbound } from '../../adapter/outbound.js';
import type { UdpAssociation, UdpAssociationEvents } from '../../adapter/udp.js';
import type { OutboundSettings } from '../outbound-settings.js';
import { runHandshake } from '../socket-handshake.js';
import { connectTcp } from '../tcp-connect.js';
import { ChainHandshake, notAHop, type NamedLeg } from './chain-handshake.js';
import { ChainUdpDialer } from './chain-udp.js';

/**
 * A cascade of outbounds: a TCP connection to hop 1's server, through it a connection to hop 2's,
 * and so on; the last hop connects to the destination. Each hop speaks its own protocol with its
 * own login; the chain's handshake is theirs composed (ChainHandshake), so it runs on the Node
 * socket path and in the native dialer alike.
 */
export class ChainOutbound implements Outbound {
  private readonly udp: ChainUdpDialer;

  constructor(
    readonly name: string,
    private readonly hops: readonly Outbound[],
    private readonly settings: OutboundSettings,
    log: Logger,
  ) {
    if (hops.length < 2) throw new RangeError('a chain needs at least two hops');
    this.udp = new ChainUdpDialer(name, hops, (command, dst, count) => this.legs(command, dst, count), settings, log);
  }

  /** Where the chain itself connects: hop 1's server. */
  get server(): SocksAddr {
    return this.hops[0].server;
  }

  associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    return this.udp.associate(client, events, signal);
  }

  /** The client's first bytes save a round trip only when the last hop reads them behind its request. */
  takesEarlyData(): boolean {
    return this.hops[this.hops.length - 1].takesEarlyData?.() ?? false;
  }

  pipeliningState(): 'pipelined' | 'stepwise' | 'learning' {
    const states = this.hops.map((hop) => hop.pipeliningState?.() ?? 'stepwise');
    if (states.includes('learning')) return 'learning';
    return states.every((s) => s === 'pipelined') ? 'pipelined' : 'stepwise';
  }

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const legs = this.legs('connect', dst);
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    let socket: Socket;
    try {
      socket = await connectTcp(legs[0].leg.server, { mark, timeoutMs: connectTimeoutMs, signal: ctx.signal });
    } catch (err) {
      legs[0].leg.settle(err);
      throw err;
    }
    const data = await ctx.earlyData;
    const handshake = new ChainHandshake(legs, data);
    try {
      await runHandshake(socket, handshake, { timeoutMs: handshakeTimeoutMs, signal: ctx.signal });
    } catch (err) {
      socket.destroy();
      handshake.settle(err);
      throw err;
    }
    handshake.settle(undefined);
    if (data && !handshake.carriesEarlyData) socket.write(data);
    return socket;
  }

  plan(dst: SocksAddr): DialPlan | undefined {
    const legs = this.legs('connect', dst);
    const server = legs[0].leg.server;
    if (server.kind === 'domain') return undefined;
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    const handshake = new ChainHandshake(legs);
    return { server, mark, connectTimeoutMs, handshakeTimeoutMs, handshake, settle: (err) => handshake.settle(err) };
  }

  /** The whole chain as one leg of a longer one. */
  leg(dst: SocksAddr, command: LegCommand): ChainLeg {
    const legs = this.legs(command, dst);
    const handshake = new ChainHandshake(legs);
    const last = legs[legs.length - 1].leg;
    return {
      server: legs[0].leg.server,
      handshake,
      takesTrailingBytes: last.takesTrailingBytes,
      bound: () => last.bound(),
      settle: (err) => handshake.settle(err),
    };
  }

  /**
   * The legs that reach `dst` through the first `count` hops, the last one asking for `command`
   * (each hop's leg targets the next one's server). Built from the last hop back, so each hop says
   * where it is before the one in front of it is asked to connect there.
   */
  legs(command: LegCommand, dst: SocksAddr, count = this.hops.length): NamedLeg[] {
    const legs: NamedLeg[] = [];
    let target = dst;
    for (let i = count - 1; i >= 0; i--) {
      const hop = this.hops[i];
      if (!hop.leg) throw notAHop(hop.name);
      const leg = hop.leg(target, i === count - 1 ? command : 'connect');
      legs.unshift({ hop: `${this.name} hop ${i + 1} (${hop.name})`, leg });
      target = leg.server;
    }
    return legs;
  }
}

/** The outbound of an `upstreams` entry with `chain:`, over the outbounds its hops name (in order). */
export function createChain(name: string, hops: readonly Outbound[], settings: OutboundSettings, log: Logger): Outbound {
  return new ChainOutbound(name, hops, settings, log);
}
