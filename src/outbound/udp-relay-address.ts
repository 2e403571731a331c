import { addrOf, type SocksAddr } from '../core/addr.js';

/** Why an announced relay address cannot be used as is; undefined when it can. */
function unusable(host: string, kind: SocksAddr['kind']): string | undefined {
  if (kind === 'domain') return 'a domain name';
  if (kind === 'ipv4') {
    const [a, b] = host.split('.').map(Number);
    if (a === 0) return 'unspecified';
    if (a === 127) return 'loopback';
    if (a === 169 && b === 254) return 'link-local';
    if (a >= 224) return 'multicast or reserved';
    return undefined;
  }
  const h = host.toLowerCase();
  if (h === '::') return 'unspecified';
  if (h === '::1') return 'loopback';
  if (/^fe[89ab]/.test(h)) return 'link-local';
  if (h.startsWith('ff')) return 'multicast';
  return undefined;
}

export interface RelayAddress {
  readonly addr: SocksAddr;
  /** Set when the announced address was replaced: what was wrong with it. */
  readonly fixup?: string;
}

/**
 * Where to send datagrams for an association. Servers announce addresses that only make sense on
 * their side: 0.0.0.0 or `::` (v2ray unconfigured, even to IPv4 clients), a loopback address, a
 * name. Then the server's own address (the one our control connection reached) with the
 * announced port is the relay. A loopback announcement from a loopback server is left alone.
 */
export function relayAddress(announced: SocksAddr, server: SocksAddr): RelayAddress {
  const bound = announced.kind === 'domain' ? announced : addrOf(announced.host, announced.port);
  const why = unusable(bound.host, bound.kind);
  if (why === undefined || (why === 'loopback' && unusable(server.host, server.kind) === 'loopback')) return { addr: bound };
  return { addr: { ...server, port: announced.port }, fixup: `announced ${why} address ${announced.host}` };
}
