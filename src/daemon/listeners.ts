import { formatAddr, type SocksAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';
import { redirectInbound } from '../inbound/redirect-tcp.js';
import { startTcpInbound, type TcpInboundDeps, type TcpInboundKind } from '../inbound/tcp-inbound.js';
import { tproxyInbound } from '../inbound/tproxy-tcp.js';
import type { TcpAcceptor } from '../native/tcp-accept.js';

function wanted(config: Config): Map<string, [TcpInboundKind, SocksAddr]> {
  const entries = [
    ...config.redirect.map((at) => [redirectInbound, at] as [TcpInboundKind, SocksAddr]),
    ...config.tproxy.map((at) => [tproxyInbound, at] as [TcpInboundKind, SocksAddr]),
  ];
  return new Map(entries.map(([kind, at]) => [`${kind.kind} ${formatAddr(at)}`, [kind, at]]));
}

/**
 * The TCP listeners, keyed by kind and address. `update` opens only the new ones and closes only
 * the ones gone, so a reload that keeps an address keeps its socket (and its accepted flows).
 */
export class TcpListeners {
  private readonly open = new Map<string, TcpAcceptor>();

  constructor(private readonly deps: TcpInboundDeps) {}

  /** All or nothing: if a new listener cannot open, the ones just opened are closed and it throws. */
  update(config: Config): { added: string[]; removed: string[] } {
    const next = wanted(config);
    const added: [string, TcpAcceptor][] = [];
    try {
      for (const [key, [kind, at]] of next) if (!this.open.has(key)) added.push([key, startTcpInbound(kind, at, this.deps)]);
    } catch (err) {
      for (const [, server] of added) server.close();
      throw err;
    }
    const removed = [...this.open.keys()].filter((key) => !next.has(key));
    for (const key of removed) {
      // close() stops accepting; flows already accepted run on.
      this.open.get(key)?.close();
      this.open.delete(key);
    }
    for (const [key, server] of added) this.open.set(key, server);
    return { added: added.map(([key]) => key), removed };
  }

  close(): void {
    for (const server of this.open.values()) server.close();
    this.open.clear();
  }
}
