import { ConfigError } from '../config/load.js';
import type { RouteConfig } from '../config/schema.js';
import type { Outbound } from '../adapter/outbound.js';
import type { Decision, RouteAction } from '../adapter/router.js';
import { compileDomains } from './domain-rule.js';
import { addListFile } from './lists.js';
import { CidrMatcher } from './match/cidr.js';
import { CidrSetBuilder } from './match/cidr-set.js';
import { DomainMatcher } from './match/domain.js';
import { InboundMatcher } from './match/inbound.js';
import { listText, MatchInput, type Matcher, type RouteQuery } from './match/matcher.js';
import { NetworkMatcher } from './match/network.js';
import { PortMatcher } from './match/port.js';
import { PortSet } from './match/port-set.js';
import { SourceMatcher } from './match/source.js';
import { UserMatcher } from './match/user.js';

/** What rules can send a flow to: the upstreams by name, and the actions. */
export interface RouteTargets {
  upstream(name: string): Outbound | undefined;
  readonly direct: Outbound;
  readonly reject: Outbound;
}

type Rule = RouteConfig['rules'][number];

interface CompiledRule {
  readonly matchers: readonly Matcher[];
  readonly decision: Decision;
}

/**
 * The route, compiled once per config: rules in order (first match wins), each a list of matchers
 * that must all match, and `final` for the rest.
 */
export class CompiledRoute {
  /** Whether any rule looks at domain names (only then is it worth waiting for one). */
  readonly needsHost: boolean;
  /** Reused by every decision: deciding is synchronous. */
  private readonly input = new MatchInput();

  constructor(
    private readonly rules: readonly CompiledRule[],
    readonly final: Decision,
    /** What `direct` sends flows to (the daemon's own marked sockets); dns.rules `via: direct` uses it too. */
    readonly direct: Outbound,
  ) {
    this.needsHost = rules.some((r) => r.matchers.some((m) => m.needsHost));
  }

  get size(): number {
    return this.rules.length;
  }

  decide(query: RouteQuery): Decision {
    const rules = this.rules;
    const input = this.input.reset(query);
    next: for (let i = 0; i < rules.length; i++) {
      const matchers = rules[i].matchers;
      for (let j = 0; j < matchers.length; j++) if (!matchers[j].matches(input)) continue next;
      return rules[i].decision;
    }
    return this.final;
  }
}

/** Compiles `route` (list files read now); throws ConfigError naming the key, and `file:line` for lists. */
export function compileRoute(route: RouteConfig, targets: RouteTargets, firstUpstream: Outbound): CompiledRoute {
  const target = (name: string) => (name === 'direct' ? targets.direct : name === 'reject' ? targets.reject : targets.upstream(name));
  const finalOutbound = route.final === undefined ? firstUpstream : target(route.final);
  if (!finalOutbound) throw new ConfigError([{ path: 'route.final', message: `no upstream is named "${route.final}"` }]);
  const rules = route.rules.map((rule, index): CompiledRule => {
    const name = rule.upstream ?? rule.action!;
    const outbound = target(name);
    if (!outbound) throw new ConfigError([{ path: `route.rules.${index}.upstream`, message: `no upstream is named "${name}"` }]);
    const matchers = compileMatchers(rule, index);
    return { matchers, decision: Object.freeze({ outbound, rule: `${matchers.join(' ')} → ${name}`, index, action: actionOf(name) }) };
  });
  const final = Object.freeze({ outbound: finalOutbound, rule: `final → ${finalOutbound.name}`, index: -1, action: actionOf(route.final ?? finalOutbound.name) });
  return new CompiledRoute(rules, final, targets.direct);
}

function actionOf(target: string): RouteAction {
  return target === 'direct' || target === 'reject' ? target : 'upstream';
}

function compileMatchers(rule: Rule, index: number): Matcher[] {
  const path = (key: string) => `route.rules.${index}.${key}`;
  // A value the schema let through but a set refuses (an IPv6 zone) is a ConfigError naming it, not a crash.
  const inline = <T>(key: 'cidr' | 'port' | 'source', values: readonly T[], add: (value: T) => void): void =>
    values.forEach((value, i) => {
      try {
        add(value);
      } catch (err) {
        if (err instanceof RangeError) throw new ConfigError([{ path: path(`${key}.${i}`), message: err.message }]);
        throw err;
      }
    });
  const matchers: Matcher[] = [];
  if (rule.cidr || rule.cidr_file) {
    const builder = new CidrSetBuilder();
    const texts: string[] = [];
    if (rule.cidr) {
      inline('cidr', rule.cidr, (text) => builder.add(text));
      texts.push(listText('cidr', rule.cidr));
    }
    if (rule.cidr_file) texts.push(`cidr_file=${rule.cidr_file} (${addListFile(rule.cidr_file, path('cidr_file'), (t) => builder.add(t))} entries)`);
    matchers.push(new CidrMatcher(builder.build(), texts.join(' or ')));
  }
  const domains = compileDomains(rule, path);
  if (domains) matchers.push(new DomainMatcher(domains.set, domains.text));
  if (rule.port) {
    const set = new PortSet();
    inline('port', rule.port, (p) => set.add(p));
    matchers.push(new PortMatcher(set, listText('port', rule.port)));
  }
  if (rule.network) matchers.push(new NetworkMatcher(rule.network));
  if (rule.source) {
    const builder = new CidrSetBuilder();
    inline('source', rule.source, (text) => builder.add(text));
    matchers.push(new SourceMatcher(builder.build(), listText('source', rule.source)));
  }
  if (rule.inbound) matchers.push(new InboundMatcher(typeof rule.inbound === 'string' ? [rule.inbound] : rule.inbound));
  if (rule.user) matchers.push(new UserMatcher(rule.user));
  return matchers;
}
