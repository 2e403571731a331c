import type dgram from 'node:dgram';
import type { SocksAddr } from '../core/addr.js';
import { decodeSockaddr, encodeSockaddr } from '../codec/sockaddr.js';
import type { FastDirectPort, FastRelayHandlers, FastRelayHost, FastRelayPort } from '../adapter/udp.js';
import { nativeBinding, udpSocketFd } from './index.js';

interface UdpFastBinding {
  udpSocket(sockaddr: Buffer, opts: { mark?: number }): number;
  udpSend(fd: number, data: Buffer): number;
  udpSendTo(fd: number, data: Buffer, host: string, port: number): number;
  udpFastCreate(opts: { maxForwards: number; maxReplySockets: number }): object;
  udpFastClose(table: object): void;
  udpFastRelay(table: object, fd: number, relay: Buffer | null, client: Buffer, id: number, cb: (err: Error | null, datagrams?: Buffer[], sources?: Buffer) => void): object;
  udpFastRelayClose(relay: object): number[];
  udpFastForward(relay: object, client: Buffer, dst: Buffer, header: Buffer, id: number): boolean;
  udpFastClearForwards(table: object): void;
  udpFastReplySocket(table: object, remote: Buffer, fd: number): boolean;
  udpFastReplySocketForget(table: object, remote: Buffer): number;
  udpFastTake(table: object): number[];
}

/** What the addon did on its own since the last sync, beyond what it reports per entry. */
export interface FastTotals {
  readonly datagramsIn: number;
  readonly forwardErrors: number;
  readonly repliesOut: number;
  readonly replyErrors: number;
  readonly malformed: number;
  readonly fragmented: number;
}

export interface UdpFastPathOptions {
  /** (client, destination) pairs the addon forwards at most; past it they stay on the JS path. */
  readonly maxForwards: number;
  readonly maxReplySockets: number;
  /** SO_MARK of the relay sockets, so the firewall rules let them pass. */
  readonly mark: number;
  readonly onTotals: (totals: FastTotals) => void;
}

const ADDR_SLOT = 28;

const WILDCARD: Record<'ipv4' | 'ipv6', SocksAddr> = { ipv4: { kind: 'ipv4', host: '0.0.0.0', port: 0 }, ipv6: { kind: 'ipv6', host: '::', port: 0 } };

/**
 * The addon's established UDP path (udp-fast.c) seen from JavaScript: relays it reads, the pairs it
 * forwards, the reply sockets it may send through, and sync(), which collects what it counted and
 * hands each count to whoever registered the entry (associations and reply sockets stay alive, and
 * the counters right, as if every datagram had passed through JavaScript).
 */
export class UdpFastPath implements FastRelayHost {
  readonly table: object;
  private readonly binding = nativeBinding() as unknown as UdpFastBinding;
  private nextId = 1;
  private readonly forwards = new Map<number, (count: number) => void>();
  private readonly relays = new Map<number, (count: number) => void>();
  private readonly replySockets = new Map<number, (count: number) => void>();
  private closed = false;

  constructor(private readonly opts: UdpFastPathOptions) {
    this.table = this.binding.udpFastCreate({ maxForwards: opts.maxForwards, maxReplySockets: opts.maxReplySockets });
  }

  openRelay(relay: SocksAddr, client: SocksAddr, handlers: FastRelayHandlers, onReplies: (count: number) => void): FastRelayPort {
    if (relay.kind === 'domain') throw new TypeError('the relay must be an IP address');
    return this.open(relay.kind, relay, client, handlers, onReplies);
  }

  openDirect(family: 'ipv4' | 'ipv6', client: SocksAddr, handlers: FastRelayHandlers, onReplies: (count: number) => void): FastDirectPort {
    return this.open(family, undefined, client, handlers, onReplies);
  }

  /** `relay` undefined: a direct socket. */
  private open(family: 'ipv4' | 'ipv6', relay: SocksAddr | undefined, client: SocksAddr, handlers: FastRelayHandlers, onReplies: (count: number) => void): FastDirectPort {
    if (client.kind === 'domain') throw new TypeError('the client must be an IP address');
    const b = this.binding;
    const fd = b.udpSocket(encodeSockaddr(WILDCARD[family]), { mark: this.opts.mark });
    const id = this.id();
    // adopts fd, and closes it if this throws
    const handle = b.udpFastRelay(this.table, fd, relay ? encodeSockaddr(relay) : null, encodeSockaddr(client), id, (err, datagrams, sources) => {
      if (err) return handlers.onError(err);
      if (!datagrams) return;
      handlers.onDatagrams(datagrams, sources && datagrams.map((_, i) => decodeSockaddr(sources.subarray(i * ADDR_SLOT, (i + 1) * ADDR_SLOT))));
    });
    this.relays.set(id, onReplies);
    const own = new Set<number>();
    let open = true;
    return {
      send: (datagram) => open && b.udpSend(fd, datagram) === 0,
      sendTo: (dst, payload) => open && dst.kind !== 'domain' && b.udpSendTo(fd, payload, dst.host, dst.port) === 0,
      establish: (c, dst, header, onForwarded) => {
        if (!open || c.kind === 'domain' || dst.kind === 'domain') return false;
        const forwardId = this.id();
        if (!b.udpFastForward(handle, encodeSockaddr(c), encodeSockaddr(dst), header, forwardId)) return false;
        this.forwards.set(forwardId, onForwarded);
        own.add(forwardId);
        return true;
      },
      close: () => {
        if (!open) return;
        open = false;
        const last = b.udpFastRelayClose(handle); // its counts since the last sync
        if (last[0] > 0) onReplies(last[0]);
        for (let i = 1; i < last.length; i += 2) this.forwards.get(last[i])?.(last[i + 1]);
        this.relays.delete(id);
        for (const f of own) this.forwards.delete(f);
      },
    };
  }

  /** The addon may reply as `remote` through `socket` (a transparent socket bound to it); onUsed counts those replies. */
  replySocket(remote: SocksAddr, socket: dgram.Socket, onUsed: (count: number) => void): void {
    const fd = udpSocketFd(socket);
    if (this.closed || fd === undefined || remote.kind === 'domain') return;
    if (this.binding.udpFastReplySocket(this.table, encodeSockaddr(remote), fd)) this.replySockets.set(fd, onUsed);
  }

  /** Before the socket closes: its fd number may soon name another socket. */
  forgetReplySocket(remote: SocksAddr, socket: dgram.Socket): void {
    const fd = udpSocketFd(socket);
    if (this.closed || fd === undefined || remote.kind === 'domain' || !this.replySockets.has(fd)) return;
    const used = this.binding.udpFastReplySocketForget(this.table, encodeSockaddr(remote));
    if (used > 0) this.replySockets.get(fd)?.(used);
    this.replySockets.delete(fd);
  }

  /** The routes changed: every pair goes back through JavaScript (and the router) once. */
  clearForwards(): void {
    if (this.closed) return;
    this.sync();
    this.binding.udpFastClearForwards(this.table);
    this.forwards.clear();
  }

  /** Collects the addon's counts and hands them out. */
  sync(): void {
    if (this.closed) return;
    const t = this.binding.udpFastTake(this.table);
    this.opts.onTotals({ datagramsIn: t[0], forwardErrors: t[1], repliesOut: t[2], replyErrors: t[3], malformed: t[4], fragmented: t[5] });
    let at = 6;
    for (const owners of [this.forwards, this.relays, this.replySockets]) {
      const count = t[at++];
      for (let i = 0; i < count; i++, at += 2) owners.get(t[at])?.(t[at + 1]);
    }
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    this.binding.udpFastClose(this.table);
    this.forwards.clear();
    this.relays.clear();
    this.replySockets.clear();
  }

  private id(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fffe ? 1 : this.nextId + 1;
    return id;
  }
}
