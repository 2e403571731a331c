import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { addrOf, formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode } from '../core/errors.js';
import { NEED_MORE } from '../core/need-more.js';
import { encodeSocks5UdpHeader, writeSocks5UdpHeader } from '../codec/socks5-udp.js';
import { decodeNestedSocks5UdpHeaders, nestedHeadersLength, writeNestedSocks5UdpHeaders } from '../codec/socks5-udp-nested.js';
import type { FastRelayHandlers, FastRelayPort, UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import { trySendDatagram } from '../native/index.js';

function sendOnDgram(udp: UdpSocket, datagram: Buffer, counters: UdpCounters): void {
  const sent = trySendDatagram(udp, datagram);
  if (sent === false) counters.droppedSendError++;
  else if (sent === undefined)
    udp.send(datagram, (err) => {
      if (err) counters.droppedSendError++;
    });
}

/** Destinations remembered per association to name a remote that a reply gives as a domain. */
const MAX_REMEMBERED = 64;

/**
 * connect(2) to the relay: each send then skips Node's per-datagram address lookup, and the kernel
 * drops datagrams from anyone else (only the relay may speak for remotes).
 */
export function connectUdp(udp: UdpSocket, relay: SocksAddr): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    udp.once('error', onError);
    udp.connect(relay.port, relay.host, () => {
      udp.off('error', onError);
      resolve();
    });
  });
}

/** The socket to the first relay: a dgram socket connected to it, or one the addon reads (opened with the handlers). */
export type RelaySocket = UdpSocket | ((handlers: FastRelayHandlers) => FastRelayPort);

/**
 * A SOCKS5 UDP association: one UDP socket connected to the first relay, and the control TCP
 * connections that keep it (and, through a chain, the relays behind it) alive; any of them closing
 * ends it. `path` lists the relays behind the first one (empty for a single upstream): each
 * datagram is wrapped once for each of them and once for its destination, and replies unwrapped.
 */
export class Socks5Association implements UdpAssociation {
  readonly relay: string;
  /** Only for a single relay read by the addon: nested headers stay in JavaScript. */
  readonly establish?: (client: SocksAddr, dst: SocksAddr, onForwarded: (count: number) => void) => boolean;
  private readonly port: { send(datagram: Buffer): void; close(): void };
  private closed = false;
  /** Port → the last destination sent to on it, to name a remote that a reply gives as a domain. */
  private readonly destinations = new Map<number, SocksAddr>();

  constructor(
    private readonly controls: readonly Socket[],
    udp: RelaySocket,
    relayAddr: SocksAddr,
    private readonly path: readonly SocksAddr[],
    private readonly events: UdpAssociationEvents,
    private readonly counters: UdpCounters,
  ) {
    this.relay = [relayAddr, ...path].map(formatAddr).join(' > ');
    for (const control of controls) {
      control.on('error', () => {});
      // The control socket is half-open capable (connectTcp): its FIN alone must end us too.
      control.on('end', () => this.end('control connection closed'));
      control.on('close', () => this.end('control connection closed'));
      control.on('data', () => {}); // nothing is expected after the reply; never let it pile up
      control.resume();
    }
    const onError = (err: Error) => this.end(`udp socket error: ${errorCode(err)}`);
    if (typeof udp === 'function') {
      const fast = udp({ onDatagrams: (list) => list.forEach((msg) => this.onMessage(msg)), onError });
      const send = (datagram: Buffer) => {
        if (!fast.send(datagram)) counters.droppedSendError++;
      };
      this.port = { send, close: () => fast.close() };
      if (path.length === 0) this.establish = (client, dst, onForwarded) => !this.closed && fast.establish(client, dst, encodeSocks5UdpHeader({ frag: 0, addr: dst }), onForwarded);
    } else {
      udp.on('error', onError);
      udp.on('message', (msg) => this.onMessage(msg));
      this.port = { send: (datagram) => sendOnDgram(udp, datagram, counters), close: () => udp.close() };
    }
  }

  send(dst: SocksAddr, data: Buffer, headroom: number): boolean {
    if (this.closed) return false;
    let datagram: Buffer;
    try {
      datagram = this.path.length === 0 ? data.subarray(writeSocks5UdpHeader(data, headroom, dst)) : this.wrap(dst, data, headroom);
    } catch {
      return false;
    }
    this.destinations.delete(dst.port);
    this.destinations.set(dst.port, dst);
    if (this.destinations.size > MAX_REMEMBERED) this.destinations.delete(this.destinations.keys().next().value!);
    this.port.send(datagram);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const control of this.controls) control.destroy();
    this.port.close();
  }

  /** One header per relay behind the first and one for `dst`; copied only when the headroom is short. */
  private wrap(dst: SocksAddr, data: Buffer, headroom: number): Buffer {
    const addrs = [...this.path, dst];
    const needed = nestedHeadersLength(addrs);
    if (needed <= headroom) return data.subarray(writeNestedSocks5UdpHeaders(data, headroom, addrs));
    const copy = Buffer.allocUnsafe(needed + data.length - headroom);
    data.copy(copy, needed, headroom);
    writeNestedSocks5UdpHeaders(copy, needed, addrs);
    return copy;
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.close();
    this.events.onClose(reason);
  }

  /** Only the first relay reaches here: the socket is connected to it (connectUdp). */
  private onMessage(msg: Buffer): void {
    const c = this.counters;
    let decoded;
    try {
      decoded = decodeNestedSocks5UdpHeaders(msg, this.path.length + 1);
    } catch {
      c.droppedMalformed++;
      return;
    }
    if (decoded === NEED_MORE) {
      c.droppedMalformed++;
      return;
    }
    const headers = decoded.value;
    if (headers.some((h) => h.frag !== 0)) {
      c.droppedFragmented++;
      return;
    }
    const remote = this.remoteOf(headers[headers.length - 1].addr);
    if (remote === undefined) {
      c.droppedUnresolvable++;
      return;
    }
    this.events.onReply(remote, msg.subarray(decoded.bytesRead));
  }

  /** An IP address for the reply's source. A name is an IP literal, or one we sent to on that port. */
  private remoteOf(addr: SocksAddr): SocksAddr | undefined {
    if (addr.kind !== 'domain') return addr;
    const literal = addrOf(addr.host, addr.port);
    if (literal.kind !== 'domain') return literal;
    return this.destinations.get(addr.port);
  }
}
