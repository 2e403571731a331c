import type { Socket } from 'node:dgram';
import { addrOf, formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { trySendDatagram } from '../native/index.js';
import { IdleLru } from './idle-lru.js';
import type { UdpCounters } from '../adapter/udp-counters.js';

export interface ReplySocketsOptions {
  readonly max: number;
  readonly idleMs: number;
  /** A socket that sends with `remote` as its source address (transparent, bound to it). */
  readonly open: (remote: SocksAddr) => Socket;
  readonly counters: UdpCounters;
  readonly log: Logger;
  readonly now?: () => number;
  /** The addon's fast path: told of each socket, so that it can reply through it; counted there. */
  readonly fast?: {
    replySocket(remote: SocksAddr, socket: Socket, onUsed: (count: number) => void): void;
    forgetReplySocket(remote: SocksAddr, socket: Socket): void;
  };
  /** Runs before each sweep: the addon's counts of use must be in before idleness is judged. */
  readonly beforeSweep?: () => void;
}

/**
 * The full-cone reply path: a reply from any remote reaches the application with that remote as its
 * source, through a socket bound to the remote's address:port. Connected UDP sockets (dig, QUIC)
 * drop anything else. One socket per remote, shared by every client, in a bounded LRU with idle
 * expiry: these sockets are file descriptors, and unbounded they are a leak.
 */
interface ReplySocket {
  readonly socket: Socket;
  readonly remote: SocksAddr;
  /** Sends not yet handed to the kernel: closing now would cancel them. */
  pending: number;
  evicted: boolean;
}

export class ReplySockets {
  private readonly cache: IdleLru<string, ReplySocket>;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: ReplySocketsOptions) {
    this.cache = new IdleLru({
      max: opts.max,
      idleMs: opts.idleMs,
      now: opts.now,
      onEvict: (_key, entry, reason) => {
        if (reason === 'lru') opts.counters.replySocketsEvicted++;
        if (reason === 'idle') opts.counters.replySocketsExpired++;
        this.retire(entry);
      },
    });
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(1_000, opts.idleMs / 2)));
    this.timer.unref();
  }

  get size(): number {
    return this.cache.size;
  }

  send(from: SocksAddr, to: SocksAddr, payload: Buffer): void {
    const c = this.opts.counters;
    // only an IPv6 remote can be v4-mapped: it replies to an IPv4 client as IPv4
    const source = from.kind === 'ipv6' ? addrOf(from.host, from.port) : from;
    if (source.kind === 'domain' || source.kind !== to.kind) {
      c.droppedUnresolvable++;
      return;
    }
    const key = formatAddr(source);
    const entry = this.cache.get(key) ?? this.open(key, source);
    if (entry === undefined) return;
    const sent = trySendDatagram(entry.socket, payload, to);
    if (sent !== undefined) {
      if (sent) c.repliesOut++;
      else c.droppedSendError++;
      return;
    }
    entry.pending++;
    entry.socket.send(payload, to.port, to.host, (err) => {
      entry.pending--;
      if (err) c.droppedSendError++;
      else c.repliesOut++;
      if (entry.evicted && entry.pending === 0) entry.socket.close();
    });
  }

  sweep(): number {
    this.opts.beforeSweep?.();
    return this.cache.sweep();
  }

  close(): void {
    clearInterval(this.timer);
    this.cache.clear('shutdown');
  }

  /** Out of the cache: the addon forgets it first (its fd number may soon name another socket). */
  private retire(entry: ReplySocket): void {
    entry.evicted = true;
    this.opts.fast?.forgetReplySocket(entry.remote, entry.socket);
    if (entry.pending === 0) entry.socket.close();
  }

  private open(key: string, source: SocksAddr): ReplySocket | undefined {
    const c = this.opts.counters;
    let socket: Socket;
    try {
      socket = this.opts.open(source);
    } catch (err) {
      c.replySocketErrors++;
      this.opts.log.debug({ remote: key, reason: errorCode(err) }, `udp reply socket: ${errorMessage(err)}`);
      return undefined;
    }
    const entry: ReplySocket = { socket, remote: source, pending: 0, evicted: false };
    socket.on('error', (err) => {
      c.replySocketErrors++;
      this.opts.log.debug({ remote: key, reason: errorCode(err) }, `udp reply socket: ${errorMessage(err)}`);
      if (entry.evicted) return;
      this.cache.delete(key);
      this.retire(entry);
    });
    c.replySocketsOpened++;
    this.cache.set(key, entry);
    this.opts.fast?.replySocket(source, socket, () => {
      if (!entry.evicted) this.cache.get(key);
    });
    return entry;
  }
}
