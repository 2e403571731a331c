import { addrOf } from '../core/addr.js';
import { Lru } from '../core/lru.js';

/** One address as answered to one client: the name, or null once it was answered for two names. */
interface Answered {
  name: string | null;
  expiresAt: number;
}

export interface AnsweredNamesOptions {
  /** Entries kept at most (client × address pairs); the least recently used go first. */
  readonly capacity?: number;
  /**
   * The shortest time an answer is remembered: applications keep addresses beyond the TTL (and
   * connect to them later), so a TTL of 5 s must not make the name vanish before the connect.
   */
  readonly minHoldS?: number;
  /** Whether an address is one of this host's own (its flows asked through loopback). */
  readonly isLocal?: (host: string) => boolean;
  readonly now?: () => number;
}

const LOCAL = 'local';

/**
 * The names the DNS listener answered, per client: a flow from that client to an address it was
 * told for exactly one name is known to be for that name (route domain rules match it). Queries
 * over loopback come from this host, whose flows carry one of its own addresses as source.
 */
export class AnsweredNames {
  private readonly table: Lru<string, Answered>;
  private readonly minHoldMs: number;
  private readonly isLocal: (host: string) => boolean;
  private readonly now: () => number;

  constructor(opts: AnsweredNamesOptions = {}) {
    this.table = new Lru(opts.capacity ?? 65_536);
    this.minHoldMs = (opts.minHoldS ?? 300) * 1000;
    this.isLocal = opts.isLocal ?? (() => false);
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.table.size;
  }

  /** `client` was told `addresses` for `name`, valid `ttlS` seconds. */
  record(client: string, name: string, addresses: readonly string[], ttlS: number): void {
    const who = clientKey(client);
    const now = this.now();
    const expiresAt = now + Math.max(ttlS * 1000, this.minHoldMs);
    for (const address of addresses) {
      const key = `${who}|${address}`;
      const known = this.table.peek(key);
      const other = known !== undefined && known.expiresAt > now && known.name !== name;
      this.table.set(key, { name: other ? null : name, expiresAt: other ? Math.max(known.expiresAt, expiresAt) : expiresAt });
    }
  }

  /** The one name `client` was told `address` for, if it still holds. */
  nameFor(client: string, address: string): string | undefined {
    const who = clientKey(client);
    return this.lookup(who, address) ?? (who !== LOCAL && this.isLocal(who) ? this.lookup(LOCAL, address) : undefined);
  }

  private lookup(who: string, address: string): string | undefined {
    const key = `${who}|${address}`;
    const entry = this.table.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.table.delete(key);
      return undefined;
    }
    return entry.name ?? undefined;
  }
}

function clientKey(client: string): string {
  const { host } = addrOf(client, 0);
  return host === '::1' || host.startsWith('127.') ? LOCAL : host;
}
