import * as z from 'zod';
import { parseCidr } from '../core/cidr.js';
import { parsePortRange } from '../core/port-range.js';
import { lazySchema } from './lazy-schema.js';

/** Where a flow can go besides an upstream (or a group) named in `upstreams`. */
export const ROUTE_ACTIONS = ['direct', 'reject'] as const;
export const ROUTE_INBOUNDS = ['redirect', 'tproxy', 'dns', 'socks'] as const;

function validCidr(text: string, ctx: z.RefinementCtx): void {
  try {
    parseCidr(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}

function validPortRange(entry: number | string, ctx: z.RefinementCtx): void {
  try {
    parsePortRange(entry);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}

/** A domain name as rules take it; no wildcards: a suffix already matches every name under it. */
export const DOMAIN_NAME = /^[A-Za-z0-9_.-]{1,253}$/;

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

/** The name matchers, shared with dns.rules: exact names, suffixes, keywords, and a list file of them. */
export const domainMatchers = lazySchema(() => {
  const domainNames = z.array(z.string().regex(DOMAIN_NAME, 'expected a domain name (letters, digits, -, _ and dots; no wildcards: a suffix matches every name under it)')).min(1);
  const keywords = z.array(z.string().min(1).max(253)).min(1);
  return {
    domain: domainNames.optional(),
    domain_suffix: domainNames.optional(),
    domain_keyword: keywords.optional(),
    domain_file: z.string().min(1).optional(),
  };
});
export const DOMAIN_MATCH_KEYS = ['domain', 'domain_suffix', 'domain_keyword', 'domain_file'] as const;

/** The keys that make a rule match something; a rule needs at least one. */
export const MATCH_KEYS = ['cidr', 'cidr_file', 'domain', 'domain_suffix', 'domain_keyword', 'domain_file', 'port', 'network', 'source', 'inbound', 'user'] as const;

/**
 * One routing rule: every matcher given must match (inside one, any listed value may). Then it
 * sends the flow to `upstream` (a name from `upstreams`) or does `action`.
 */
export const routeRuleSchema = lazySchema(() => {
  const portOrRange = z.union([z.number(), z.string()]).superRefine(validPortRange);
  return z
    .strictObject({
      cidr: z.array(z.string().superRefine(validCidr)).min(1).optional(),
      cidr_file: z.string().min(1).optional(),
      ...domainMatchers(),
      port: z.array(portOrRange).min(1).optional(),
      network: z.enum(['tcp', 'udp']).optional(),
      source: z.array(z.string().superRefine(validCidr)).min(1).optional(),
      inbound: oneOrMany(z.enum(ROUTE_INBOUNDS)).optional(),
      /** The user a client of the SOCKS/HTTP proxy inbound logged in as (inbounds.socks[].users). */
      user: z.array(z.string().min(1).max(255)).min(1).optional(),
      action: z.enum(ROUTE_ACTIONS).optional(),
      upstream: z.string().min(1).optional(),
    })
    .superRefine((rule, ctx) => {
      if ((rule.action === undefined) === (rule.upstream === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give exactly one of action (direct, reject) or upstream (a name)' });
      }
      if (!MATCH_KEYS.some((key) => rule[key] !== undefined)) {
        ctx.addIssue({ code: 'custom', message: `a rule needs at least one of ${MATCH_KEYS.join(', ')} (use route.final for everything else)` });
      }
    });
});

export const routeSchema = lazySchema(() =>
  z.strictObject({
    /** When no rule matches: an upstream name, `direct` or `reject`. Absent: the first upstream. */
    final: z.string().min(1).optional(),
    /** First match wins. */
    rules: z.array(routeRuleSchema()).default([]),
  }),
);
