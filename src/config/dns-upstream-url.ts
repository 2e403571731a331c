import { parseHostPort, type SocksAddr } from '../core/addr.js';

/** A real resolver socksgate reaches through the upstream proxy. */
export interface DnsUpstreamUrl {
  readonly transport: 'tcp' | 'udp';
  readonly server: SocksAddr;
}

/**
 * "tcp://9.9.9.9:53", "udp://[2001:db8::53]" (port 53 by default). Throws RangeError with a plain
 * message. tcp:// goes through a SOCKS CONNECT, udp:// through a SOCKS5 UDP ASSOCIATE.
 */
export function parseDnsUpstreamUrl(text: string): DnsUpstreamUrl {
  const match = /^([a-z]+):\/\/(.+)$/i.exec(text);
  if (!match) throw new RangeError(`"${text}": expected tcp://HOST[:PORT]`);
  const scheme = match[1].toLowerCase();
  if (scheme !== 'tcp' && scheme !== 'udp') throw new RangeError(`"${text}": expected tcp:// or udp://`);
  const server = parseHostPort(match[2].replace(/\/$/, ''), 53);
  if (server.port === 0) throw new RangeError(`"${text}": port must be 1-65535`);
  return { transport: scheme, server };
}
