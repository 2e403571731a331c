import type { DnsTransport } from './transport.js';

/** The resolvers that answer one group of names (dns.upstreams, or one of dns.rules), tried in order. */
export interface ResolverSet {
  /** 0: dns.upstreams; i + 1: dns.rules[i]. Keeps the sets' cached answers apart. */
  readonly id: number;
  readonly transports: readonly DnsTransport[];
  /** `via: direct`: reached with the daemon's own marked sockets, never through a proxy. */
  readonly direct: boolean;
}

/** Who answers a name: a resolver set, or socksgate itself with NXDOMAIN; `rule` says why, for logs. */
export interface DnsChoice {
  readonly resolvers: ResolverSet | 'reject';
  readonly rule: string;
}

/** Split DNS as the resolver sees it: the choice for each name (first matching rule, else dns.upstreams). */
export interface SplitDns {
  choose(name: string): DnsChoice;
  /** Every resolver set, dns.upstreams' first. */
  readonly sets: readonly ResolverSet[];
}

/** The rule text of names no dns.rules entry matched. */
export const DEFAULT_DNS_RULE = 'dns.upstreams';

/** No split DNS: every name is answered by `transports`. */
export function singleResolverSet(transports: readonly DnsTransport[]): SplitDns {
  const set: ResolverSet = { id: 0, transports, direct: false };
  const choice: DnsChoice = { resolvers: set, rule: DEFAULT_DNS_RULE };
  return { choose: () => choice, sets: [set] };
}
