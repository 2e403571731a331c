import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, errorCode, errorMessage } from '../core/errors.js';
import { newFlow, type Flow } from '../core/flow.js';
import type { Logger } from '../core/log.js';
import { RateLimitedWarning } from '../core/rate-limited-warning.js';
import { IdleLru, type EvictReason } from './idle-lru.js';
import type { FastRelayHost, UdpAssociation, UdpDialer } from '../adapter/udp.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import { FakeNames, type FakeDestinations } from './udp-fake-names.js';

/** Drops that network input can cause at any rate are logged at most this often (the counters have them all). */
const DROP_LOG_MS = 10_000;

export interface UdpNatOptions {
  readonly maxAssociations: number;
  /**
   * At most this many associations opening (upstream dials in flight) at once: each holds a TCP
   * control connection, and sources are easily spoofed. A new client past it is dropped.
   */
  readonly maxPendingAssociations: number;
  readonly idleMs: number;
  /** Per association, while its upstream handshake runs. */
  readonly queueDatagrams: number;
  readonly queueBytes: number;
  /** Sends a reply to the client with `from` as its source address (for associations without an owner). */
  readonly deliver?: DeliverReply;
  readonly counters: UdpCounters;
  readonly log: Logger;
  readonly now?: () => number;
  /**
   * Fake-IP: a pool address becomes its name upstream (held while the association lives), and
   * replies for the name appear from the pool address (udp-fake-names.ts); a pool address without
   * a name drops the datagram. Absent: destinations as they are.
   */
  readonly fakeIp?: FakeDestinations;
  /** Who the datagrams come from, for the flows' logs: TPROXY (the default), or the proxy inbound's UDP ASSOCIATE and its user. */
  readonly inbound?: 'tproxy' | 'socks';
  readonly user?: string;
  /**
   * The addon's fast path (TPROXY only: its replies go out through the reply sockets): offered to
   * the dialers, and each routed (client, destination) pair is handed to it once its association
   * is open. What it then forwards and delivers is counted here through beforeSweep's sync.
   */
  readonly fast?: FastRelayHost;
  /** Runs before each sweep: the addon's counts of use must be in before idleness is judged. */
  readonly beforeSweep?: () => void;
}

export type DeliverReply = (from: SocksAddr, client: SocksAddr, payload: Buffer) => void;

/**
 * Who a client's datagrams came in through, when one table serves several (the proxy inbound's
 * UDP ASSOCIATE sessions): its replies go back the same way, and its associations end with it.
 */
export interface UdpNatOwner {
  readonly id: number;
  readonly deliver: DeliverReply;
  /** The user its flows are logged and counted for (instead of the table's). */
  readonly user?: string;
}

interface Pending {
  readonly dst: SocksAddr;
  readonly data: Buffer;
  readonly headroom: number;
  readonly decidedAgain?: (count: number) => void;
}

interface Entry {
  readonly key: string;
  readonly flow: Flow;
  readonly dialer: UdpDialer;
  readonly owner?: UdpNatOwner;
  /** Present in fake-IP mode. */
  readonly names?: FakeNames;
  /** Aborts the upstream dial while it is in progress. */
  readonly dial: AbortController;
  assoc?: UdpAssociation;
  queue: Pending[];
  queuedBytes: number;
  closed: boolean;
  sent: number;
  received: number;
}

/**
 * The association table: one upstream UDP association per client address:port, opened on the
 * first datagram, closed when idle, when the table is full (least recently used first), or when
 * the association ends by itself. Everything it holds is bounded.
 */
export class UdpNat {
  private readonly table: IdleLru<string, Entry>;
  private readonly timer: NodeJS.Timeout;
  /** Upstream dials in flight, whether or not their entry is still in the table. */
  private pending = 0;
  private readonly noMappingWarning: RateLimitedWarning;
  private readonly pendingLimitWarning: RateLimitedWarning;

  constructor(private readonly opts: UdpNatOptions) {
    this.noMappingWarning = new RateLimitedWarning(DROP_LOG_MS, opts.now);
    this.pendingLimitWarning = new RateLimitedWarning(DROP_LOG_MS, opts.now);
    this.table = new IdleLru({ max: opts.maxAssociations, idleMs: opts.idleMs, now: opts.now, onEvict: (_key, entry, reason) => this.evicted(entry, reason) });
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(1_000, opts.idleMs / 2)));
    this.timer.unref();
  }

  get size(): number {
    return this.table.size;
  }

  /**
   * A datagram from `src` to `dst` that the router sent through `dialer`; `data` holds `headroom`
   * spare bytes, then the payload. One association per client address, dialer and owner. With
   * `decidedAgain` (the route holds for later datagrams of the pair) the pair may go to the addon.
   */
  handle(src: SocksAddr, dst: SocksAddr, data: Buffer, headroom: number, dialer: UdpDialer, owner?: UdpNatOwner, decidedAgain?: (count: number) => void): void {
    const key = owner ? `${formatAddr(src)} ${dialer.name} ${owner.id}` : `${formatAddr(src)} ${dialer.name}`;
    let entry = this.table.get(key);
    if (entry === undefined) {
      // No association for a datagram that would be dropped anyway.
      const fakeIp = this.opts.fakeIp;
      if (fakeIp && fakeIp.mapDestination(dst) === undefined) return this.noMapping(src, dst);
      if (this.pending >= this.opts.maxPendingAssociations) return this.pendingLimit(src);
      entry = this.open(key, src, dst, dialer, owner);
    }
    if (entry.names) {
      const target = entry.names.outbound(dst);
      if (target === undefined) return this.noMapping(src, dst);
      dst = target;
    }
    if (entry.assoc) return this.forward(entry, dst, data, headroom, decidedAgain);
    const bytes = data.length - headroom;
    if (entry.queue.length >= this.opts.queueDatagrams || entry.queuedBytes + bytes > this.opts.queueBytes) {
      this.opts.counters.droppedQueueFull++;
      return;
    }
    entry.queue.push({ dst, data, headroom, decidedAgain });
    entry.queuedBytes += bytes;
  }

  /** Sweeps idle associations now (the timer does it too). */
  sweep(): number {
    this.opts.beforeSweep?.();
    return this.table.sweep();
  }

  /** Closes the associations `owner`'s datagrams opened (its session ended); returns how many. */
  closeOwner(owner: UdpNatOwner): number {
    const owned = [...this.table.values()].filter((entry) => entry.owner === owner);
    for (const entry of owned) this.ended(entry, 'client association closed');
    return owned.length;
  }

  close(): void {
    clearInterval(this.timer);
    this.table.clear('shutdown');
  }

  private open(key: string, src: SocksAddr, dst: SocksAddr, dialer: UdpDialer, owner: UdpNatOwner | undefined): Entry {
    const flow = newFlow({ network: 'udp', src, dst, inbound: this.opts.inbound ?? 'tproxy', user: owner ? owner.user : this.opts.user });
    const names = this.opts.fakeIp && new FakeNames(this.opts.fakeIp);
    const entry: Entry = { key, flow, dialer, owner, names, dial: new AbortController(), queue: [], queuedBytes: 0, closed: false, sent: 0, received: 0 };
    this.table.set(key, entry);
    const events = {
      onReply: (from: SocksAddr, payload: Buffer) => this.reply(entry, from, payload),
      onClose: (reason: string) => this.ended(entry, reason),
      fast: owner ? undefined : this.opts.fast, // an owner's replies go back its own way, not through reply sockets
      onFastReplies: (count: number) => this.fastReplies(entry, count),
    };
    this.pending++;
    entry.dialer.associate(src, events, entry.dial.signal).then(
      (assoc) => {
        this.pending--;
        this.opened(entry, assoc);
      },
      (err: unknown) => {
        this.pending--;
        this.failed(entry, err);
      },
    );
    return entry;
  }

  private fields(entry: Entry) {
    return { flowId: entry.flow.id, network: 'udp', src: formatAddr(entry.flow.src), dst: formatAddr(entry.flow.dst), outbound: entry.dialer.name };
  }

  private opened(entry: Entry, assoc: UdpAssociation): void {
    if (entry.closed) return assoc.close();
    entry.assoc = assoc;
    this.opts.counters.associationsOpened++;
    this.opts.log.debug({ ...this.fields(entry), relay: assoc.relay, queued: entry.queue.length }, 'udp association open');
    const queue = entry.queue;
    entry.queue = [];
    entry.queuedBytes = 0;
    for (const p of queue) this.forward(entry, p.dst, p.data, p.headroom, p.decidedAgain);
  }

  private failed(entry: Entry, err: unknown): void {
    if (entry.closed) return; // aborted: counted as closed when it was evicted
    const c = this.opts.counters;
    const noUdp = errorCode(err) === ErrorCode.UDP_UNSUPPORTED;
    if (noUdp) c.droppedNoUdp += entry.queue.length;
    else c.droppedAssociationFailed += entry.queue.length;
    c.associationsFailed++;
    // The dialer warns once per upstream about missing UDP support, a group once per interval about
    // having no member for UDP; other failures are per flow.
    if (!noUdp && errorCode(err) !== ErrorCode.NO_HEALTHY_MEMBER) this.opts.log.warn({ ...this.fields(entry), reason: errorCode(err) }, `udp association failed: ${errorMessage(err)}`);
    this.forget(entry);
  }

  private forward(entry: Entry, dst: SocksAddr, data: Buffer, headroom: number, decidedAgain?: (count: number) => void): void {
    const assoc = entry.assoc!;
    if (assoc.send(dst, data, headroom)) {
      entry.sent++;
      this.opts.counters.datagramsOut++;
    } else {
      this.opts.counters.droppedSendError++;
      return;
    }
    // Fake-IP names are mapped per datagram, here: those pairs stay in JavaScript.
    if (decidedAgain && assoc.establish && !entry.names) assoc.establish(entry.flow.src, dst, (count) => this.fastForwarded(entry, count, decidedAgain));
  }

  /**
   * Datagrams the addon forwarded for the entry, and replies it delivered: counted even after the
   * entry closed (closing it collects its last counts), kept alive only while it is open.
   */
  private fastForwarded(entry: Entry, count: number, decidedAgain: (count: number) => void): void {
    if (!entry.closed) this.table.get(entry.key);
    entry.sent += count;
    this.opts.counters.datagramsOut += count;
    decidedAgain(count);
  }

  private fastReplies(entry: Entry, count: number): void {
    if (!entry.closed) this.table.get(entry.key);
    entry.received += count;
    this.opts.counters.repliesIn += count;
  }

  private reply(entry: Entry, from: SocksAddr, payload: Buffer): void {
    if (entry.closed) return;
    this.table.get(entry.key); // a reply keeps the association alive too
    entry.received++;
    this.opts.counters.repliesIn++;
    const deliver = entry.owner?.deliver ?? this.opts.deliver;
    deliver?.(entry.names ? entry.names.inbound(from) : from, entry.flow.src, payload);
  }

  private noMapping(src: SocksAddr, dst: SocksAddr): void {
    this.opts.counters.droppedNoMapping++;
    this.noMappingWarning.maybe((suppressed) => {
      const fields = { network: 'udp', src: formatAddr(src), dst: formatAddr(dst), reason: ErrorCode.NO_MAPPING, suppressed };
      this.opts.log.warn(fields, `udp datagram dropped: ${formatAddr(dst)} is a fake-IP address with no name mapped to it`);
    });
  }

  private pendingLimit(src: SocksAddr): void {
    this.opts.counters.droppedPendingLimit++;
    this.pendingLimitWarning.maybe((suppressed) => {
      const fields = { network: 'udp', src: formatAddr(src), opening: this.pending, suppressed };
      this.opts.log.warn(fields, `udp datagram of a new client dropped: ${this.pending} associations are opening already (udp.max_pending_associations)`);
    });
  }

  private ended(entry: Entry, reason: string): void {
    if (entry.closed) return;
    this.opts.counters.associationsClosed++;
    this.opts.log.debug({ ...this.fields(entry), sent: entry.sent, received: entry.received, reason }, 'udp association closed');
    this.forget(entry);
  }

  private evicted(entry: Entry, reason: EvictReason): void {
    const c = this.opts.counters;
    if (reason === 'lru') c.associationsEvicted++;
    if (reason === 'idle') c.associationsExpired++;
    c.associationsClosed++;
    c.droppedAssociationFailed += entry.queue.length;
    this.closeEntry(entry);
    this.opts.log.debug({ ...this.fields(entry), sent: entry.sent, received: entry.received, reason }, 'udp association closed');
  }

  /** Drops an entry that ended on its own (the table did not evict it). */
  private forget(entry: Entry): void {
    this.closeEntry(entry);
    if (this.table.peek(entry.key) === entry) this.table.delete(entry.key);
  }

  /** Ends everything the entry holds: the association, or the dial still opening it. */
  private closeEntry(entry: Entry): void {
    entry.closed = true;
    entry.queue = [];
    if (entry.assoc) entry.assoc.close();
    else entry.dial.abort();
    entry.names?.releaseAll();
  }
}
