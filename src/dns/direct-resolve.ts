import dnsPacket, { type RecordAnswer } from 'dns-packet';
import { ErrorCode, SgError } from '../core/errors.js';
import type { DirectResolve } from '../outbound/direct.js';
import type { Resolver } from './resolver.js';
import type { ResolverSet, SplitDns } from './split-dns.js';
import type { WireAnswer } from './wire-answer.js';

export interface SplitDirectResolveOptions {
  /** Asked when no dns.rules entry is `via: direct` (the system resolver). */
  readonly fallback: DirectResolve;
  /** Whether an address is a fake-IP pool address: the fallback may be this very listener. */
  readonly isFakeAddress?: (address: string) => boolean;
}

/** The first address record of `type` in an answer (a CNAME chain's end included), if any. */
function firstAddress(answer: WireAnswer, type: 'A' | 'AAAA'): string | undefined {
  const records = dnsPacket.decode(answer.message).answers ?? [];
  return (records.find((r) => r.type === type) as RecordAnswer | undefined)?.data as string | undefined;
}

/**
 * How a direct flow to a name (a fake-IP destination the route sent direct) finds its address:
 * through split DNS, never through a proxy. The name's own resolvers when its rule is
 * `via: direct`; else those of the first `via: direct` rule; else `fallback` (the system
 * resolver). A name dns.rules reject is not resolved. Answers go through the resolver's cache.
 */
export function splitDirectResolve(resolver: Resolver, split: SplitDns, opts: SplitDirectResolveOptions): DirectResolve {
  const firstDirect = split.sets.find((set) => set.direct);
  return async (host) => {
    const own = split.choose(host);
    if (own.resolvers === 'reject') throw new SgError(ErrorCode.REJECTED, `${host} is rejected by dns.rules (${own.rule})`);
    const set: ResolverSet | undefined = own.resolvers.direct ? own.resolvers : firstDirect;
    if (!set) return checked(host, await opts.fallback(host), opts);
    for (const type of ['A', 'AAAA'] as const) {
      const result = await resolver.resolve({ name: host, type, class: 'IN' }, set);
      const address = 'wire' in result ? firstAddress(result.wire, type) : undefined;
      if (address !== undefined) return address;
    }
    throw new SgError(ErrorCode.DNS_UPSTREAM_FAILED, `the direct resolvers (${set.transports.map((t) => t.name).join(', ')}) have no address for ${host}`);
  };
}

/** A pool address from the system resolver means it asked socksgate's own fake-IP listener: no real address. */
function checked(host: string, address: string, opts: SplitDirectResolveOptions): string {
  if (opts.isFakeAddress?.(address)) {
    throw new SgError(ErrorCode.DNS_UPSTREAM_FAILED, `the system resolver answered ${host} with the fake-IP address ${address}: give a dns.rules entry with via: direct for it`);
  }
  return address;
}
