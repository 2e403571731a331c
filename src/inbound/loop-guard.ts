import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { decodeIpv4, decodeIpv6, parseIp } from '../codec/ip.js';
import { formatAddr, type SocksAddr } from '../core/addr.js';

/** All addresses of a name, as the outbound's own lookup would find them. */
export type ResolveAll = (host: string) => Promise<readonly string[]>;

const lookupAll: ResolveAll = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** A name's addresses are looked up again when a flow to its port comes this long after the last lookup. */
const NAME_TTL_MS = 60_000;
const V4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/**
 * An IP address in one spelling, so that "2001:DB8::1", "2001:db8:0::1" and "[2001:db8::1]" are
 * one address and "::ffff:192.0.2.1" is "192.0.2.1"; undefined for a name.
 */
function canonicalIp(host: string): string | undefined {
  const v4 = parseIp('ipv4', host);
  if (v4) return decodeIpv4(v4, 0);
  const v6 = parseIp('ipv6', host.replace(/^\[(.*)\]$/, '$1'));
  if (!v6) return undefined;
  return v6.subarray(0, 12).equals(V4_MAPPED_PREFIX) ? decodeIpv4(v6, 12) : decodeIpv6(v6, 0);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function localAddresses(): Set<string> {
  const ips = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) ips.add(canonicalIp(info.address) ?? info.address);
  return ips;
}

function hasPort(addrs: readonly SocksAddr[], port: number): boolean {
  for (const addr of addrs) if (addr.port === port) return true;
  return false;
}

interface Resolved {
  ips: ReadonlySet<string>;
  at: number;
  /** The lookup under way, if any. */
  pending?: Promise<void>;
}

/**
 * Refuses flows that would come back to socksgate: a destination that is one of its own listeners
 * (a client connecting to the port directly, or a rule that redirects the listener to itself), or
 * an upstream proxy itself (its own upstream connection was intercepted: the exclusion rule is
 * missing). Proxying either would multiply connections until file descriptors run out.
 * Addresses are compared parsed, not as text; a listener or upstream given by name is compared by
 * the addresses it resolves to, looked up when the guard is built or replaced and again once stale.
 */
export class LoopGuard {
  private listeners: readonly SocksAddr[] = [];
  private upstreams: readonly SocksAddr[] = [];
  private readonly names = new Map<string, Resolved>();

  constructor(
    listeners: readonly SocksAddr[],
    upstreams: readonly SocksAddr[],
    private readonly resolveAll: ResolveAll = lookupAll,
    private readonly now: () => number = Date.now,
  ) {
    this.replace(listeners, upstreams);
  }

  /** A reload moved the listeners or upstreams. */
  replace(listeners: readonly SocksAddr[], upstreams: readonly SocksAddr[]): void {
    this.listeners = listeners;
    this.upstreams = upstreams;
    this.names.clear();
    void this.resolveNames();
  }

  /** Looks up every name among the listeners and upstreams; settles once all are known (or failed). */
  resolveNames(): Promise<void> {
    const hosts = [...this.listeners, ...this.upstreams].filter((a) => canonicalIp(a.host) === undefined).map((a) => a.host);
    return Promise.all([...new Set(hosts)].map((host) => this.resolve(host))).then(() => undefined);
  }

  /** Why `dst` must not be proxied, or undefined when it may. */
  check(dst: SocksAddr): string | undefined {
    // Per connection and per datagram: nothing is parsed unless the port is one of ours.
    if (!hasPort(this.listeners, dst.port) && !hasPort(this.upstreams, dst.port)) return undefined;
    const ip = canonicalIp(dst.host);
    if (ip === undefined) return undefined; // a name is dialed by the upstream, never back to us
    for (const listener of this.listeners) {
      if (dst.port !== listener.port) continue;
      for (const own of this.ipsOf(listener)) {
        const sameHost = ip === own || (isUnspecified(own) && (isLoopback(ip) || localAddresses().has(ip)));
        if (sameHost || (isLoopback(ip) && isLoopback(own))) return `destination ${formatAddr(dst)} is socksgate's own listener`;
      }
    }
    for (const upstream of this.upstreams) {
      if (dst.port === upstream.port && this.ipsOf(upstream).includes(ip)) {
        return `destination ${formatAddr(dst)} is the upstream proxy itself: its traffic must be excluded from interception (mark or uid rule)`;
      }
    }
    return undefined;
  }

  /** An IP as itself; a name as its last known addresses, looked up again in the background when stale. */
  private ipsOf(addr: SocksAddr): readonly string[] {
    const ip = canonicalIp(addr.host);
    if (ip !== undefined) return [ip];
    const known = this.names.get(addr.host);
    if (!known || this.now() - known.at >= NAME_TTL_MS) void this.resolve(addr.host);
    return known ? [...known.ips] : [];
  }

  private resolve(host: string): Promise<void> {
    const known = this.names.get(host);
    if (known?.pending) return known.pending;
    const entry: Resolved = { ips: known?.ips ?? new Set(), at: known?.at ?? 0 };
    this.names.set(host, entry);
    // Started from a microtask: a resolver that throws at once must not throw into check().
    entry.pending = Promise.resolve(host).then(this.resolveAll).then(
      (ips) => {
        entry.ips = new Set(ips.map((a) => canonicalIp(a) ?? a));
      },
      () => {
        // kept as it was: the outbound's own lookup reports an unresolvable upstream
      },
    ).finally(() => {
      entry.at = this.now();
      entry.pending = undefined;
    });
    return entry.pending;
  }
}
