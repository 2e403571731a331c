import { formatAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';
import { startSocksInbound, type SocksInbound, type SocksInboundDeps } from '../inbound/socks/server.js';

/**
 * The proxy inbound's listeners, keyed by address. `update` opens the new ones, closes the ones
 * gone and gives the kept ones their new users and handshake cap, so a reload that keeps an
 * address keeps its socket and its flows.
 */
export class SocksListeners {
  private readonly open = new Map<string, SocksInbound>();

  private readonly deps: SocksInboundDeps & { handshakeMs: number };

  /** `deps.handshakeMs` is read per connection, and follows timeouts.handshake_ms on every update. */
  constructor(deps: SocksInboundDeps) {
    this.deps = { ...deps };
  }

  /** All or nothing: if a new listener cannot open, the ones just opened are closed and it throws. */
  update(config: Config): { added: string[]; removed: string[] } {
    this.deps.handshakeMs = config.timeouts.handshake_ms;
    const next = new Map(config.inbounds.socks.map((entry) => [formatAddr(entry.listen), entry]));
    const added: [string, SocksInbound][] = [];
    try {
      for (const [key, entry] of next) if (!this.open.has(key)) added.push([key, startSocksInbound(entry, this.deps)]);
    } catch (err) {
      for (const [, listener] of added) listener.close();
      throw err;
    }
    const removed = [...this.open.keys()].filter((key) => !next.has(key));
    for (const key of removed) {
      this.open.get(key)?.close();
      this.open.delete(key);
    }
    for (const [key, listener] of this.open) listener.reconfigure(next.get(key)!);
    for (const [key, listener] of added) this.open.set(key, listener);
    return { added: added.map(([key]) => `socks ${key}`), removed: removed.map((key) => `socks ${key}`) };
  }

  close(): void {
    for (const listener of this.open.values()) listener.close();
    this.open.clear();
  }
}
