import type { SocksAddr } from '../core/addr.js';

/** What an association reports back to the table that owns it. */
export interface UdpAssociationEvents {
  /** A datagram from `from` (any remote: full cone) for the association's client. */
  onReply(from: SocksAddr, payload: Buffer): void;
  /** The association ended by itself (control connection closed, socket error). */
  onClose(reason: string): void;
}

/** One client's UDP path through an upstream: datagrams out, replies via its events. */
export interface UdpAssociation {
  /** Where datagrams go (the relay address after fix-ups), for logs. */
  readonly relay: string;
  /** `data` holds `headroom` spare bytes, then the payload. False when it could not be sent. */
  send(dst: SocksAddr, data: Buffer, headroom: number): boolean;
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
