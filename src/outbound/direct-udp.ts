import type { Socket as UdpSocket } from 'node:dgram';
import { addrOf, type SocksAddr } from '../core/addr.js';
import type { FastDirectPort, UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import { trySendDatagram } from '../native/index.js';

/** Names resolved per association, so a name costs one lookup, not one per datagram. */
const MAX_NAMES = 64;
const NO_HEADER = Buffer.alloc(0);

type Family = 'ipv4' | 'ipv6';

/** One family's socket: a marked dgram socket, or one the addon reads (then pairs can skip JavaScript). */
interface DirectPort {
  sendTo(dst: SocksAddr, payload: Buffer): boolean;
  close(): void;
  readonly fast?: FastDirectPort;
}

/**
 * A client's direct UDP: marked sockets (one per address family, opened on first use) send each
 * datagram straight to its destination; a reply from any remote goes back to the client (full cone).
 * When the table offers the addon's fast path (TPROXY), the addon reads those sockets.
 */
export class DirectAssociation implements UdpAssociation {
  readonly relay = 'direct';
  /** Only when the addon reads the sockets: see UdpAssociation. */
  readonly establish?: (client: SocksAddr, dst: SocksAddr, onForwarded: (count: number) => void) => boolean;
  private readonly ports = new Map<Family, DirectPort>();
  private readonly names = new Map<string, Promise<SocksAddr>>();
  private closed = false;

  constructor(
    private readonly openSocket: (family: Family) => UdpSocket,
    private readonly resolve: (dst: SocksAddr) => Promise<SocksAddr>,
    private readonly events: UdpAssociationEvents,
    private readonly client?: SocksAddr,
  ) {
    if (events.fast && client && client.kind !== 'domain') {
      this.establish = (c, dst, onForwarded) => {
        if (this.closed || dst.kind === 'domain') return false;
        return this.ports.get(dst.kind)?.fast?.establish(c, dst, NO_HEADER, onForwarded) ?? false;
      };
    }
  }

  send(dst: SocksAddr, data: Buffer, headroom: number): boolean {
    if (this.closed) return false;
    const payload = data.subarray(headroom);
    if (dst.kind !== 'domain') return this.sendTo(dst, payload);
    let resolved = this.names.get(dst.host);
    if (!resolved) {
      if (this.names.size >= MAX_NAMES) this.names.delete(this.names.keys().next().value!);
      resolved = this.resolve(addrOf(dst.host, 0));
      this.names.set(dst.host, resolved);
    }
    resolved.then(
      (addr) => this.sendTo({ kind: addr.kind, host: addr.host, port: dst.port }, payload),
      () => this.names.delete(dst.host),
    );
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const port of this.ports.values()) port.close();
    this.ports.clear();
  }

  private sendTo(dst: SocksAddr, payload: Buffer): boolean {
    if (this.closed) return false;
    const family = dst.kind === 'ipv6' ? 'ipv6' : 'ipv4';
    let port = this.ports.get(family);
    if (!port) {
      port = this.establish ? this.openFast(family) : this.openDgram(family);
      this.ports.set(family, port);
    }
    return port.sendTo(dst, payload);
  }

  private openDgram(family: Family): DirectPort {
    const socket = this.openSocket(family);
    socket.on('message', (msg, rinfo) => this.events.onReply(addrOf(rinfo.address, rinfo.port), msg));
    socket.on('error', () => {}); // an ICMP error for one remote must not end the others
    return {
      sendTo: (dst, payload) => {
        const sent = trySendDatagram(socket, payload, dst);
        if (sent !== undefined) return sent;
        socket.send(payload, dst.port, dst.host);
        return true;
      },
      close: () => socket.close(),
    };
  }

  private openFast(family: Family): DirectPort {
    const handlers = {
      onDatagrams: (list: Buffer[], sources?: readonly SocksAddr[]) => list.forEach((msg, i) => sources && this.events.onReply(sources[i], msg)),
      onError: () => {}, // as for dgram: one remote's trouble must not end the others
    };
    const fast = this.events.fast!.openDirect(family, this.client!, handlers, (count) => this.events.onFastReplies?.(count));
    return { sendTo: (dst, payload) => fast.sendTo(dst, payload), close: () => fast.close(), fast };
  }
}
