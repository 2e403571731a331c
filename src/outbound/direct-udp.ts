import type { Socket as UdpSocket } from 'node:dgram';
import { addrOf, type SocksAddr } from '../core/addr.js';
import type { UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import { trySendDatagram } from '../native/index.js';

/** Names resolved per association, so a name costs one lookup, not one per datagram. */
const MAX_NAMES = 64;

/**
 * A client's direct UDP: marked sockets (one per address family, opened on first use) send each
 * datagram straight to its destination; a reply from any remote goes back to the client (full cone).
 */
export class DirectAssociation implements UdpAssociation {
  readonly relay = 'direct';
  private readonly sockets = new Map<'ipv4' | 'ipv6', UdpSocket>();
  private readonly names = new Map<string, Promise<SocksAddr>>();
  private closed = false;

  constructor(
    private readonly openSocket: (family: 'ipv4' | 'ipv6') => UdpSocket,
    private readonly resolve: (dst: SocksAddr) => Promise<SocksAddr>,
    private readonly events: UdpAssociationEvents,
  ) {}

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
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  private sendTo(dst: SocksAddr, payload: Buffer): boolean {
    if (this.closed) return false;
    const family = dst.kind === 'ipv6' ? 'ipv6' : 'ipv4';
    let socket = this.sockets.get(family);
    if (!socket) {
      socket = this.openSocket(family);
      socket.on('message', (msg, rinfo) => this.events.onReply(addrOf(rinfo.address, rinfo.port), msg));
      socket.on('error', () => {}); // an ICMP error for one remote must not end the others
      this.sockets.set(family, socket);
    }
    const sent = trySendDatagram(socket, payload, dst);
    if (sent !== undefined) return sent;
    socket.send(payload, dst.port, dst.host);
    return true;
  }
}
