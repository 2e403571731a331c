import type { SocksAddr } from '../core/addr.js';

/** Fake-IP as the UDP path needs it (dns/fake-ip.ts). */
export interface FakeDestinations {
  /**
   * The destination to ask the upstream for (a fake-IP pool address becomes its name); undefined
   * refuses it (a pool address nobody holds). Returns `dst` itself when it stays as it is.
   */
  mapDestination(dst: SocksAddr): SocksAddr | undefined;
  /** Keeps a pool address from going to another name until release(); false: no name has it. */
  hold(address: string): boolean;
  release(address: string): void;
}

/** Remotes remembered per association (sent to, or replied from); the oldest goes first. */
const MAX_REMOTES = 256;
/** Ports with a name sent to and no reply yet. */
const MAX_UNBOUND = 64;
/** Pool addresses held per association; past it the oldest is let go (held again when sent to again). */
const MAX_HELD = 256;

interface Fake {
  /** The pool address:port the application sent to; replies for the name appear from it. */
  readonly fake: SocksAddr;
  /** What goes upstream: the name, same port. */
  readonly target: SocksAddr;
  /** A reply source has been bound to it. */
  bound: boolean;
}

const DIRECT = 'direct';

function keyOf(addr: SocksAddr): string {
  return `${addr.host} ${addr.port}`;
}

/**
 * Fake-IP on the UDP path, for one association. A datagram to pool address F:P goes upstream as
 * name:P. The relay resolves the name and sends to some R:P the application never saw, and reports
 * R:P as the source of the replies (Dante does). The application sent to F:P, and a connected socket
 * (dig, QUIC) drops anything else, so the replies must appear from F:P.
 *
 * The rule: the first reply from a remote this association knows nothing about, on a port where a
 * name was sent to and has not been answered yet, is that name's answer: its source R:P is bound to
 * F:P, and every later reply from R:P appears from F:P. A remote the application addressed by IP
 * itself is never bound (its replies keep their source), and once F is bound other remotes replying
 * on that port keep theirs (full cone: a third party is not the name). A relay that names the source
 * (ATYP 3) is mapped by the name and port it was sent. Limits: when two names on one port are both
 * unanswered, the first reply binds to the most recent one (nothing in a reply tells them apart);
 * a name's server answering from another port shows its real address (a connected socket drops that
 * reply, as it would without a proxy). A datagram costs one Map lookup (two
 * while its name is unanswered), a reply one; the pool is consulted once per remote, so like a TCP
 * connection an association keeps the name a pool address had when it first sent to it.
 */
export class FakeNames {
  /** Remote "host port" → DIRECT (addressed by IP), or the fake it stands for (F:P, name:P, bound R:P). */
  private readonly remotes = new Map<string, Fake | typeof DIRECT>();
  /** Port → the fake sent to on it most recently that no reply has been bound to yet. */
  private readonly unbound = new Map<number, Fake>();
  /** Pool addresses sent to, held while the association lives (an application may send to them again), oldest first. */
  private readonly held = new Set<string>();

  constructor(private readonly fakes: FakeDestinations) {}

  /** Where a datagram to `dst` goes upstream, or undefined when it must be dropped (no mapping). */
  outbound(dst: SocksAddr): SocksAddr | undefined {
    const key = keyOf(dst);
    const known = this.remotes.get(key);
    if (known === DIRECT) return dst;
    if (known !== undefined) {
      if (known.fake.host === dst.host) {
        if (!known.bound && this.unbound.get(dst.port) !== known) this.pending(known);
        this.hold(dst.host);
        return known.target;
      }
      // A remote bound to a name, now addressed by IP: from now on its replies show it as itself.
      this.remotes.set(key, DIRECT);
      return dst;
    }
    const target = this.fakes.mapDestination(dst);
    if (target === undefined) return undefined;
    if (target === dst) {
      this.remember(key, DIRECT);
      return dst;
    }
    const fake: Fake = { fake: dst, target, bound: false };
    this.remember(key, fake);
    this.remember(keyOf(target), fake);
    this.pending(fake);
    this.hold(dst.host);
    return target;
  }

  /** The association ended: its pool addresses may go to other names once their grace period has passed. */
  releaseAll(): void {
    for (const address of this.held) this.fakes.release(address);
    this.held.clear();
  }

  /** The source a reply from `from` shows to the application. */
  inbound(from: SocksAddr): SocksAddr {
    const key = keyOf(from);
    const known = this.remotes.get(key);
    if (known === DIRECT) return from;
    if (known !== undefined) return known.fake;
    if (from.kind === 'domain') return from;
    const fake = this.unbound.get(from.port);
    if (fake === undefined) return from;
    fake.bound = true;
    this.unbound.delete(from.port);
    this.remember(key, fake);
    return fake.fake;
  }

  private hold(address: string): void {
    if (this.held.has(address) || !this.fakes.hold(address)) return;
    this.held.add(address);
    if (this.held.size > MAX_HELD) {
      const oldest = this.held.values().next().value!;
      this.held.delete(oldest);
      this.fakes.release(oldest);
    }
  }

  private pending(fake: Fake): void {
    const port = fake.fake.port;
    this.unbound.delete(port); // most recent last, so the oldest is the one dropped when full
    this.unbound.set(port, fake);
    if (this.unbound.size > MAX_UNBOUND) this.unbound.delete(this.unbound.keys().next().value!);
  }

  private remember(key: string, value: Fake | typeof DIRECT): void {
    this.remotes.set(key, value);
    if (this.remotes.size > MAX_REMOTES) this.remotes.delete(this.remotes.keys().next().value!);
  }
}
