import type { DnsUpstreamUrl } from '../config/dns-upstream-url.js';
import type { DnsConfig } from '../config/schema.js';
import { DEFAULT_DNS_RULE, type DnsChoice, type ResolverSet, type SplitDns } from '../dns/split-dns.js';
import { compileDomains } from './domain-rule.js';
import type { DomainSet } from './match/domain-set.js';

/** Builds the resolver set of dns.upstreams (id 0, no `via`) or of one rule (id index + 1). */
export type ResolverSetFactory = (upstreams: readonly DnsUpstreamUrl[], via: string | undefined, id: number) => ResolverSet;

interface CompiledDnsRule {
  readonly names: DomainSet;
  readonly choice: DnsChoice;
}

/**
 * dns.rules compiled once (list files read now): the first rule whose names match a name picks
 * its resolvers or rejects it; no match, dns.upstreams. Throws ConfigError naming the key, and
 * `file:line` for a bad list. Each choice's text is the rule as logs show it
 * (`domain_suffix=[corp.example] → udp://192.0.2.53:53 via direct`).
 */
export function compileSplitDns(dns: DnsConfig, resolverSet: ResolverSetFactory): SplitDns {
  const fallback: DnsChoice = { resolvers: resolverSet(dns.upstreams, undefined, 0), rule: DEFAULT_DNS_RULE };
  const rules = dns.rules.map((rule, index): CompiledDnsRule => {
    const domains = compileDomains(rule, (key) => `dns.rules.${index}.${key}`);
    // The schema lets no rule without a name matcher through.
    if (!domains) throw new Error(`dns.rules.${index} has no name matcher`);
    const resolvers = rule.upstreams ? resolverSet(rule.upstreams, rule.via, index + 1) : 'reject';
    const target = resolvers === 'reject' ? 'reject' : `${resolvers.transports.map((t) => t.name).join(',')} via ${rule.via ?? 'route'}`;
    return { names: domains.set, choice: Object.freeze({ resolvers, rule: `${domains.text} → ${target}` }) };
  });
  return {
    sets: [fallback, ...rules.map((r) => r.choice)].flatMap((c) => (c.resolvers === 'reject' ? [] : [c.resolvers])),
    choose(name) {
      for (let i = 0; i < rules.length; i++) if (rules[i].names.has(name)) return rules[i].choice;
      return fallback;
    },
  };
}
