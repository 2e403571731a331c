import type { Socket as UdpSocket } from 'node:dgram';
import { addrOf, formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode } from '../core/errors.js';
import { Socks5Command } from '../codec/socks5.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../core/log.js';
import type { FastRelayHandlers, UdpAssociation, UdpAssociationEvents, UdpDialer } from '../adapter/udp.js';
import { Socks5Association, connectUdp } from './socks5-association.js';
import { NoUdpBackoff, isRefusal } from './no-udp-backoff.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import type { DialSettings } from '../adapter/outbound.js';
import { socks5Handshake, type Socks5Credentials, type Socks5Stage } from './socks5-handshake.js';
import { connectTcp } from './tcp-connect.js';
import { pipeliningVerdict, type PipeliningLearner } from './pipelining.js';
import { relayAddress } from './udp-relay-address.js';

export interface Socks5UdpSettings extends DialSettings {
  /** Announce the local UDP address in the ASSOCIATE request instead of 0.0.0.0:0 / [::]:0. */
  readonly sendSource: boolean;
  /** After an upstream showed it cannot do UDP, stop asking it for this long. */
  readonly retryNoUdpMs: number;
  /** A marked UDP socket on the wildcard address of `family`, bound to an ephemeral port. */
  readonly openSocket: (family: 'ipv4' | 'ipv6') => UdpSocket;
}

/**
 * SOCKS5 UDP ASSOCIATE (RFC 1928 §7) against one upstream. Each association owns a control TCP
 * connection (its close ends the association, and closing the association closes it) and one
 * marked UDP socket that talks to the announced relay.
 */
export class Socks5UdpDialer implements UdpDialer {
  readonly name: string;
  private readonly credentials?: Socks5Credentials;
  private readonly noUdp: NoUdpBackoff;
  private loggedFixup = false;

  constructor(
    private readonly upstream: UpstreamConfig,
    private readonly settings: Socks5UdpSettings,
    private readonly counters: UdpCounters,
    private readonly log: Logger,
    /**
     * The upstream's verdict on pipelined handshakes (socks5.ts learns it with CONNECTs): pipelined,
     * the ASSOCIATE costs one round trip less (and in the bench lab Dante answered a request that
     * came with its greeting within a few ms, a request on its own at times 40 ms late). Absent:
     * step by step.
     */
    private readonly pipelining?: Pick<PipeliningLearner, 'shouldPipeline' | 'forget'>,
  ) {
    this.name = upstream.name;
    this.noUdp = new NoUdpBackoff(this.name, settings.retryNoUdpMs, log);
    if (upstream.username !== undefined) this.credentials = { username: upstream.username, password: upstream.password ?? '' };
  }

  async associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    this.noUdp.check();
    const control = await connectTcp(this.upstream.server, { mark: this.settings.mark, timeoutMs: this.settings.connectTimeoutMs, signal });
    let udp: UdpSocket | undefined;
    // The addon reads the relay socket when the table offers it; announcing our source port needs
    // the socket before the handshake, which only the dgram path makes.
    const fast = this.settings.sendSource || client.kind === 'domain' ? undefined : events.fast;
    try {
      const server = addrOf(control.remoteAddress ?? '', control.remotePort ?? 0);
      if (!fast) udp = this.settings.openSocket(server.kind === 'ipv6' ? 'ipv6' : 'ipv4');
      const request: SocksAddr = this.settings.sendSource && udp
        ? addrOf(control.localAddress ?? '', udp.address().port)
        : server.kind === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 };
      let stage = 'method' as Socks5Stage;
      let announced: SocksAddr;
      const pipelined = this.pipelining?.shouldPipeline() ?? false;
      try {
        announced = await socks5Handshake(
          control,
          request,
          { credentials: this.credentials, pipelined, timeoutMs: this.settings.handshakeTimeoutMs, command: Socks5Command.UDP_ASSOCIATE, signal },
          (s) => (stage = s),
        );
      } catch (err) {
        // silent past the method reply: the server may drop pipelined bytes after all (as socks5.ts settle)
        if (pipelined && pipeliningVerdict(stage, errorCode(err)) === 'stepwise') this.pipelining?.forget();
        throw stage === 'reply' && isRefusal(err) ? this.noUdp.refused(err) : err;
      }
      const relay = relayAddress(announced, server);
      if (relay.fixup && !this.loggedFixup) {
        this.loggedFixup = true;
        this.log.info({ upstream: this.name, announced: formatAddr(announced), relay: formatAddr(relay.addr) }, `udp relay address fixed up: ${relay.fixup}, using the server's address`);
      }
      if (fast) {
        if (signal?.aborted) throw new SgError(ErrorCode.ABORTED, 'the association was dropped while it opened');
        const open = (handlers: FastRelayHandlers) => fast.openRelay(relay.addr, client, handlers, (count) => events.onFastReplies?.(count));
        return new Socks5Association([control], open, relay.addr, [], events, this.counters);
      }
      udp = udp!; // opened above whenever the addon does not read the relay
      if (relay.addr.kind !== server.kind) {
        udp.close();
        udp = this.settings.openSocket(relay.addr.kind === 'ipv6' ? 'ipv6' : 'ipv4');
      }
      await connectUdp(udp, relay.addr);
      if (signal?.aborted) throw new SgError(ErrorCode.ABORTED, 'the association was dropped while it opened');
      return new Socks5Association([control], udp, relay.addr, [], events, this.counters);
    } catch (err) {
      control.destroy();
      udp?.close();
      throw err;
    }
  }

}

/** Upstreams that cannot carry UDP at all (SOCKS4, HTTP CONNECT): one warning, then silence. */
export class NoUdpDialer implements UdpDialer {
  private warned = false;
  constructor(
    readonly name: string,
    private readonly log: Logger,
  ) {}

  associate(): Promise<UdpAssociation> {
    if (!this.warned) {
      this.warned = true;
      this.log.warn({ upstream: this.name }, 'upstream protocol has no UDP: UDP datagrams for it are dropped');
    }
    return Promise.reject(new SgError(ErrorCode.UDP_UNSUPPORTED, `${this.name} cannot relay UDP`));
  }
}
