import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { addrOf, formatAddr, type SocksAddr } from '../../core/addr.js';
import { ErrorCode, SgError, errorCode } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { LegCommand } from '../../adapter/handshake.js';
import type { UdpAssociation, UdpAssociationEvents, UdpDialer } from '../../adapter/udp.js';
import type { OutboundSettings } from '../outbound-settings.js';
import { runHandshake } from '../socket-handshake.js';
import { Socks5Association, connectUdp } from '../socks5-association.js';
import { connectTcp } from '../tcp-connect.js';
import { NoUdpBackoff, isRefusal } from '../no-udp-backoff.js';
import { relayAddress } from '../udp-relay-address.js';
import { ChainHandshake, type NamedLeg } from './chain-handshake.js';

/** The legs through the first `count` hops of a chain to `dst`, the last asking for `command`. */
export type ChainLegs = (command: LegCommand, dst: SocksAddr, count: number) => NamedLeg[];

/** Datagrams reach a relay from the hop in front of it, whose address no one knows beforehand. */
function anyAddress(server: SocksAddr): SocksAddr {
  return server.kind === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 };
}

/** One hop's association: its control connection (through the hops in front) and the relay it announced. */
interface HopRelay {
  readonly control: Socket;
  readonly relay: SocksAddr;
}

/**
 * UDP through a chain of SOCKS5 hops by N-fold encapsulation: a control connection per hop (to hop
 * 1 directly, to hop k through hops 1…k-1), each with a UDP ASSOCIATE, all opened at once; then
 * one UDP socket to hop 1's relay, and every datagram carries one header per hop (Socks5Association
 * with the relays of hops 2…N as its path).
 */
export class ChainUdpDialer implements UdpDialer {
  private loggedFixup = false;
  private readonly noUdp: NoUdpBackoff;

  constructor(
    readonly name: string,
    /** The hops, in order (only their servers are read here). */
    private readonly hops: readonly { readonly server: SocksAddr }[],
    private readonly legs: ChainLegs,
    private readonly settings: OutboundSettings,
    private readonly log: Logger,
  ) {
    this.noUdp = new NoUdpBackoff(name, settings.retryNoUdpMs, log);
  }

  async associate(_client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    this.noUdp.check();
    let plans: NamedLeg[][];
    try {
      // Every hop's leg is built before anything is dialed: a hop whose protocol has no UDP refuses here.
      plans = this.hops.map((hop, k) => this.legs('udp-associate', anyAddress(hop.server), k + 1));
    } catch (err) {
      throw errorCode(err) === ErrorCode.UDP_UNSUPPORTED ? this.noUdp.refused(err) : err;
    }
    const opened = await Promise.allSettled(plans.map((legs) => this.openHop(legs, signal)));
    const hops = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failure = opened.find((o) => o.status === 'rejected');
    let udp: UdpSocket | undefined;
    try {
      if (failure) throw failure.reason;
      const first = hops[0].relay;
      udp = this.settings.openSocket(first.kind === 'ipv6' ? 'ipv6' : 'ipv4');
      await connectUdp(udp, first);
      if (signal?.aborted) throw new SgError(ErrorCode.ABORTED, 'the association was dropped while it opened');
      return new Socks5Association(hops.map((h) => h.control), udp, first, hops.slice(1).map((h) => h.relay), events, this.settings.udpCounters);
    } catch (err) {
      for (const hop of hops) hop.control.destroy();
      udp?.close();
      throw err;
    }
  }

  /** Runs one control connection's legs; the last one's bound address, fixed up, is that hop's relay. */
  private async openHop(legs: readonly NamedLeg[], signal?: AbortSignal): Promise<HopRelay> {
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    const control = await connectTcp(legs[0].leg.server, { mark, timeoutMs: connectTimeoutMs, signal });
    const handshake = new ChainHandshake(legs);
    try {
      await runHandshake(control, handshake, { timeoutMs: handshakeTimeoutMs, signal });
    } catch (err) {
      control.destroy();
      handshake.settle(err);
      // The hop turned the UDP ASSOCIATE itself down (microsocks: REP=7; ssh -D closes).
      throw handshake.current === legs.length - 1 && isRefusal(err) ? this.noUdp.refused(err) : err;
    }
    handshake.settle(undefined);
    const last = legs[legs.length - 1];
    // Hop 1's relay is reached from here: its server is the address this connection reached. The
    // others are reached by the hop in front, which resolves names itself.
    const server = legs.length === 1 ? addrOf(control.remoteAddress ?? '', control.remotePort ?? 0) : last.leg.server;
    const announced = last.leg.bound()!;
    const relay = relayAddress(announced, server);
    if (relay.fixup && !this.loggedFixup) {
      this.loggedFixup = true;
      this.log.info({ upstream: this.name, hop: last.hop, announced: formatAddr(announced), relay: formatAddr(relay.addr) }, `udp relay address fixed up: ${relay.fixup}, using the server's address`);
    }
    return { control, relay: relay.addr };
  }
}
