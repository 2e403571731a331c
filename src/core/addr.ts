import { isIPv4, isIPv6 } from './ip-literal.js';

export type HostKind = 'ipv4' | 'ipv6' | 'domain';

/** A destination as SOCKS speaks of it: an IP literal or a domain name, plus a port. */
export interface SocksAddr {
  readonly kind: HostKind;
  readonly host: string;
  readonly port: number;
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Classifies `host`; IPv4-mapped IPv6 (from dual-stack sockets) is unmapped to plain IPv4. */
export function addrOf(host: string, port: number): SocksAddr {
  const mapped = V4_MAPPED.exec(host);
  if (mapped) return { kind: 'ipv4', host: mapped[1], port };
  if (isIPv4(host)) return { kind: 'ipv4', host, port };
  if (isIPv6(host)) return { kind: 'ipv6', host, port };
  return { kind: 'domain', host, port };
}

/** host:port, [host]:port for IPv6; a SocksAddr's kind says which without parsing the host. */
export function formatAddr(addr: { host: string; port: number; kind?: SocksAddr['kind'] }): string {
  const v6 = addr.kind === undefined ? isIPv6(addr.host) : addr.kind === 'ipv6';
  return v6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** Parses "host:port", "[v6]:port" or "v4:port". Throws RangeError with a plain message. */
export function parseHostPort(text: string, defaultPort?: number): SocksAddr {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
    if (!isIPv6(host)) throw new RangeError(`"${text}": only IPv6 addresses go in brackets`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) {
      throw new RangeError(`"${text}": write IPv6 addresses as [addr]:port`);
    }
    host = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
  }
  if (host === '') throw new RangeError(`"${text}": missing host`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === undefined) throw new RangeError(`"${text}": missing port`);
  if (!isValidPort(port) || (portText !== undefined && !/^\d+$/.test(portText))) {
    throw new RangeError(`"${text}": port must be 0-65535`);
  }
  return addrOf(host, port);
}
