import type { SocksAddr } from '../core/addr.js';

/** What an association reports back to the table that owns it. */
export interface UdpAssociationEvents {
  /** A datagram from `from` (any remote: full cone) for the association's client. */
  onReply(from: SocksAddr, payload: Buffer): void;
  /** The association ended by itself (control connection closed, socket error). */
  onClose(reason: string): void;
  /**
   * Offered by a table whose replies can go out through the addon (TPROXY): a dialer that can use
   * it reads its relay there, and the addon then delivers replies without onReply.
   */
  readonly fast?: FastRelayHost;
  /** Replies the addon delivered by itself since the last call (counted, not seen one by one). */
  onFastReplies?(count: number): void;
}

/** What a relay socket read in the addon gives back to the association that owns it. */
export interface FastRelayHandlers {
  /**
   * Datagrams from the relay that the addon left to JavaScript, whole (header included); for a
   * direct socket, with the remote each came from.
   */
  onDatagrams(datagrams: Buffer[], sources?: readonly SocksAddr[]): void;
  onError(err: Error): void;
}

/** A UDP socket connected to a relay, read by the addon (udp-fast.c). */
export interface FastRelayPort {
  /** False when the kernel refused it (a full buffer: lost, as UDP allows). */
  send(datagram: Buffer): boolean;
  /**
   * From now on the addon sends the client's datagrams for `dst` straight to the relay behind
   * `header`; onForwarded counts them. False when its table is full (they keep coming to JS).
   */
  establish(client: SocksAddr, dst: SocksAddr, header: Buffer, onForwarded: (count: number) => void): boolean;
  close(): void;
}

/** A direct socket read by the addon: no relay, no header; `header` in establish is ignored. */
export interface FastDirectPort extends FastRelayPort {
  /** False when it was not sent (a full buffer, no route: lost, as UDP allows). */
  sendTo(dst: SocksAddr, payload: Buffer): boolean;
}

export interface FastRelayHost {
  /** Throws the addon's Error when the socket cannot be made or connected. */
  openRelay(relay: SocksAddr, client: SocksAddr, handlers: FastRelayHandlers, onReplies: (count: number) => void): FastRelayPort;
  /** A marked socket of `family` for direct UDP (full cone: replies from any remote). */
  openDirect(family: 'ipv4' | 'ipv6', client: SocksAddr, handlers: FastRelayHandlers, onReplies: (count: number) => void): FastDirectPort;
}

/** One client's UDP path through an upstream: datagrams out, replies via its events. */
export interface UdpAssociation {
  /** Where datagrams go (the relay address after fix-ups), for logs. */
  readonly relay: string;
  /** `data` holds `headroom` spare bytes, then the payload. False when it could not be sent. */
  send(dst: SocksAddr, data: Buffer, headroom: number): boolean;
  /**
   * Present when the association's relay is read by the addon: hands the (client, dst) pair to
   * it, so that the client's later datagrams to dst skip JavaScript. False when it could not.
   */
  establish?(client: SocksAddr, dst: SocksAddr, onForwarded: (count: number) => void): boolean;
  close(): void;
}

/** An upstream that can carry UDP (or says why not by rejecting with SG_ERR_UDP_UNSUPPORTED). */
export interface UdpDialer {
  readonly name: string;
  /**
   * Opens an association for `client`. `signal` aborts it while it opens (the table dropped the
   * client): the dial closes what it opened and rejects, so nothing it holds outlives the abort.
   */
  associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation>;
}
