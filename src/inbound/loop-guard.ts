import { networkInterfaces } from 'node:os';
import { formatAddr, type SocksAddr } from '../core/addr.js';

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function localAddresses(): Set<string> {
  const hosts = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const info of list ?? []) hosts.add(info.address);
  return hosts;
}

/**
 * Refuses flows that would come back to socksgate: a destination that is one of its own listeners
 * (a client connecting to the port directly, or a rule that redirects the listener to itself), or
 * an upstream proxy itself (its own upstream connection was intercepted: the exclusion rule is
 * missing). Proxying either would multiply connections until file descriptors run out.
 */
export class LoopGuard {
  constructor(
    private listeners: readonly SocksAddr[],
    private upstreams: readonly SocksAddr[],
  ) {}

  /** A reload moved the listeners or upstreams. */
  replace(listeners: readonly SocksAddr[], upstreams: readonly SocksAddr[]): void {
    this.listeners = listeners;
    this.upstreams = upstreams;
  }

  /** Why `dst` must not be proxied, or undefined when it may. */
  check(dst: SocksAddr): string | undefined {
    for (const listener of this.listeners) {
      if (dst.port !== listener.port) continue;
      const sameHost = dst.host === listener.host || (isUnspecified(listener.host) && (isLoopback(dst.host) || localAddresses().has(dst.host)));
      if (sameHost || isLoopback(dst.host) && isLoopback(listener.host)) {
        return `destination ${formatAddr(dst)} is socksgate's own listener`;
      }
    }
    for (const upstream of this.upstreams) {
      if (dst.host === upstream.host && dst.port === upstream.port) {
        return `destination ${formatAddr(dst)} is the upstream proxy itself: its traffic must be excluded from interception (mark or uid rule)`;
      }
    }
    return undefined;
  }
}
