import { formatAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';
import type { SocksInboundConfig } from '../config/socks-inbound.js';
import { bindCommand } from '../inbound/socks/bind.js';
import type { SocksCommandDeps } from '../inbound/socks/command-deps.js';
import { startSocksInbound, type SocksInbound, type SocksInboundDeps } from '../inbound/socks/server.js';
import { udpAssociateCommand, type UdpAssociateCommand } from '../inbound/socks/udp-associate.js';

interface OpenListener {
  readonly inbound: SocksInbound;
  /** Its entry as of the last update: BIND reads its timeout per request. */
  config: SocksInboundConfig;
}

/**
 * The proxy inbound's listeners, keyed by address. `update` opens the new ones, closes the ones
 * gone and gives the kept ones their new users, handshake cap and BIND timeout, so a reload that
 * keeps an address keeps its socket and its flows. With `commands`, BIND and UDP ASSOCIATE are
 * served (else answered "command not supported").
 */
export class SocksListeners {
  private readonly open = new Map<string, OpenListener>();
  private readonly deps: SocksInboundDeps & { handshakeMs: number };
  private udpConfig?: Config['udp'];
  private readonly udpAssociate?: UdpAssociateCommand;

  /** `deps.handshakeMs` is read per connection, and follows timeouts.handshake_ms on every update. */
  constructor(
    deps: SocksInboundDeps,
    private readonly commands?: SocksCommandDeps,
  ) {
    this.deps = { ...deps };
    if (commands) this.udpAssociate = udpAssociateCommand(commands, () => this.udpConfig!);
  }

  /** Upstream associations the proxy inbound's UDP ASSOCIATE clients hold now. */
  get udpAssociations(): number {
    return this.udpAssociate?.upstreamAssociations ?? 0;
  }

  /** All or nothing: if a new listener cannot open, the ones just opened are closed and it throws. */
  update(config: Config): { added: string[]; removed: string[] } {
    this.deps.handshakeMs = config.timeouts.handshake_ms;
    this.udpConfig = config.udp;
    const next = new Map(config.inbounds.socks.map((entry) => [formatAddr(entry.listen), entry]));
    const added: [string, OpenListener][] = [];
    try {
      for (const [key, entry] of next) if (!this.open.has(key)) added.push([key, this.start(entry)]);
    } catch (err) {
      for (const [, listener] of added) listener.inbound.close();
      throw err;
    }
    const removed = [...this.open.keys()].filter((key) => !next.has(key));
    for (const key of removed) {
      this.open.get(key)?.inbound.close();
      this.open.delete(key);
    }
    for (const [key, listener] of this.open) {
      listener.config = next.get(key)!;
      listener.inbound.reconfigure(listener.config);
    }
    for (const [key, listener] of added) this.open.set(key, listener);
    return { added: added.map(([key]) => `socks ${key}`), removed: removed.map((key) => `socks ${key}`) };
  }

  close(): void {
    for (const listener of this.open.values()) listener.inbound.close();
    this.open.clear();
    this.udpAssociate?.closeAll();
  }

  private start(config: SocksInboundConfig): OpenListener {
    const { commands, udpAssociate } = this;
    const current = { config };
    const served = commands && udpAssociate ? { bind: bindCommand(commands, () => current.config.bindTimeoutMs), udpAssociate: udpAssociate.handler } : undefined;
    const inbound = startSocksInbound(config, { ...this.deps, commands: served });
    return Object.assign(current, { inbound });
  }
}
