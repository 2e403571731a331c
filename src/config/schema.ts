import * as z from 'zod';
import { parseHostPort } from '../core/addr.js';
import { parseCidr } from '../core/cidr.js';
import { parseIpBlock } from '../codec/ip-block.js';
import { parseDnsUpstreamUrl } from './dns-upstream-url.js';
import { PIPELINING_MODES, parseUpstreamUrl } from './upstream-url.js';
import type { DeepReadonly } from './deep-freeze.js';
import { DOMAIN_MATCH_KEYS, domainMatchers, routeSchema } from './route-schema.js';
import { inboundsSchema } from './socks-inbound.js';
import { groupSchema, healthSchema } from './group-schema.js';
import { lazySchema } from './lazy-schema.js';
import { sectionLeftOut } from './section-defaults.js';

/** The single source of truth for the config file: keys, types, defaults. Unknown keys are errors. */

function parsesWith(parse: (text: string) => unknown) {
  return (text: string, ctx: z.RefinementCtx) => {
    try {
      parse(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

/** A string the config holds in its parsed form: parsed here, once, and never again downstream. */
function parsedWith<T>(parse: (text: string) => T) {
  return z.string().transform((text, ctx): T => {
    try {
      return parse(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, input: text });
      return z.NEVER;
    }
  });
}

const listenSocket = () => parsedWith((text) => parseHostPort(text));
const positiveMs = () => z.number().int().positive();

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export const RELAYS = ['splice', 'copy'] as const;
export const MAX_MARK = 0xffffffff;
export const MAX_WORKERS = 256;

const upstreamObject = lazySchema(() =>
  z
    .strictObject({
      url: parsedWith(parseUpstreamUrl).optional(),
      /** A cascade through the upstreams (or chains) named here, in order; instead of `url`. */
      chain: z.array(z.string().min(1)).optional(),
      name: z.string().min(1).optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      password_file: z.string().min(1).optional(),
      password_env: z.string().min(1).optional(),
      pipelining: z.enum(PIPELINING_MODES).optional(),
    })
    .superRefine((entry, ctx) => {
      if ((entry.url === undefined) === (entry.chain === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give exactly one of url (e.g. socks5://192.0.2.1:1080) or chain (a list of upstream names)' });
        return;
      }
      if (entry.chain === undefined) return;
      if (entry.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'a chain needs a name' });
      if (entry.chain.length < 2) ctx.addIssue({ code: 'custom', path: ['chain'], message: 'a chain needs at least two hops' });
      for (const key of ['username', 'password', 'password_file', 'password_env', 'pipelining'] as const) {
        if (entry[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'a chain has no login or pipelining of its own: set it on the hop' });
      }
  }),
);

/** An upstream is a URL string or an object with a `url` and options. */
const upstream = () => z.preprocess((value) => (typeof value === 'string' ? { url: value } : value), upstreamObject());

export const RULES_BACKENDS = ['auto', 'nft', 'iptables'] as const;
export const RULES_MODES = ['host', 'router', 'sidecar'] as const;

const cidr = lazySchema(() => z.string().superRefine(parsesWith(parseCidr)));

/** What `socksgate rules` installs (see src/firewall/plan.ts). */
const rulesSchema = lazySchema(() => {
  const port = z.number().int().min(1).max(65535);
  const id = z.number().int().min(0).max(0xfffffffe);
  return z.strictObject({
    /** auto: nft where the `nft` tool exists, else iptables. */
    backend: z.enum(RULES_BACKENDS).default('auto'),
    mode: z.enum(RULES_MODES).default('host'),
    /** Router mode: divert traffic arriving on these interfaces or from these sources. */
    lan_interfaces: z.array(z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'not an interface name')).default([]),
    lan_sources: z.array(cidr()).default([]),
    /** Destinations never diverted, in addition to loopback, link-local, multicast and broadcast. */
    bypass: z.array(cidr()).default([]),
    bypass_ports: z.array(port).default([]),
    /** Also bypass private and reserved ranges (RFC 1918, CGNAT, ULA, 0/8, 240/4). */
    bypass_reserved: z.boolean().default(true),
    exclude_uids: z.array(id).default([]),
    exclude_gids: z.array(id).default([]),
    /** Divert port 53 to the DNS listener, when the config has one. */
    dns_capture: z.boolean().default(true),
    /** Divert UDP to the TPROXY listener too; absent: yes when there is one (not in sidecar mode). */
    udp: z.boolean().optional(),
    nft_table: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'letters, digits and _ only').default('socksgate'),
    /** Prefix of the iptables chains socksgate owns (suffixes such as _MARK are appended). */
    iptables_chain: z.string().regex(/^[A-Z][A-Z0-9_]{0,15}$/, 'capitals, digits and _ only, at most 16').default('SOCKSGATE'),
    /** TPROXY policy routing: packets with this mark are delivered locally through this table. */
    fwmark: z.number().int().min(1).max(0xffffffff).default(1),
    route_table: z.number().int().min(1).max(0xfffffffe).default(100),
  });
});

const dnsUpstreams = () => z.array(parsedWith(parseDnsUpstreamUrl));

/**
 * One split-DNS rule: the names it matches are answered by its own `upstreams`, reached `via`
 * `direct` or an upstream by name (default: wherever the route sends that resolver's address),
 * or by socksgate itself with NXDOMAIN (`action: reject`).
 */
const dnsRuleSchema = lazySchema(() =>
  z
    .strictObject({
      ...domainMatchers(),
      upstreams: dnsUpstreams().min(1).optional(),
      via: z.string().min(1).optional(),
      action: z.literal('reject').optional(),
    })
    .superRefine((rule, ctx) => {
      if ((rule.upstreams === undefined) === (rule.action === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'give exactly one of upstreams (e.g. ["udp://192.0.2.53"]) or action: reject' });
      }
      if (rule.via === 'direct' && rule.upstreams?.some((u) => u.server.kind === 'domain')) {
        ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'a resolver reached direct needs an IP address: its name would need a resolver first' });
      }
      if (rule.via !== undefined && rule.upstreams === undefined) {
        ctx.addIssue({ code: 'custom', path: ['via'], message: 'via says how the rule\'s upstreams are reached: give upstreams too' });
      }
      if (!DOMAIN_MATCH_KEYS.some((key) => rule[key] !== undefined)) {
        ctx.addIssue({ code: 'custom', message: `a DNS rule needs at least one of ${DOMAIN_MATCH_KEYS.join(', ')} (dns.upstreams answer everything else)` });
      }
  }),
);

/** The DNS server socksgate runs for applications, and where it sends what it cannot answer. */
const dnsSchema = lazySchema(() =>
  z
    .strictObject({
      /** UDP and TCP listener, e.g. 127.0.0.53:53; absent: no DNS server. */
      listen: z.string().superRefine(parsesWith((text) => parseHostPort(text))).optional(),
      /** Real resolvers, tried in order, reached through the upstream the route picks for each (the first by default): tcp://IP[:PORT]. */
      upstreams: dnsUpstreams().default([]),
      /** Split DNS: the first rule matching a name picks its resolvers, or rejects it; no match: `upstreams`. */
      rules: z.array(dnsRuleSchema()).default([]),
      /** Deadline of one attempt at one resolver. */
      timeout_ms: positiveMs().default(3_000),
      /** Sources answered besides loopback, this host and (router mode) the LAN, e.g. a container bridge. */
      allow_sources: z.array(cidr()).default([]),
      /** Pipelined TCP connections kept per resolver. */
      tcp_pool_size: z.number().int().min(1).max(16).default(2),
      cache: z
        .strictObject({
          size: z.number().int().min(1).default(4096),
          /** Memory the cached answers may take; an answer above a 16th of it is served but not cached. */
          max_bytes: z.number().int().min(65_536).default(8 * 1024 * 1024),
          min_ttl_s: z.number().int().min(0).default(0),
          max_ttl_s: z.number().int().min(0).default(86_400),
          negative_ttl_s: z.number().int().min(0).default(900),
        })
        .prefault({}),
      fake_ip: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** At most one range per address family. */
          ranges: z.array(z.string().superRefine(parsesWith(parseIpBlock))).min(1).default(['198.18.0.0/15', 'fc00::/18']),
          ttl_s: z.number().int().min(0).default(1),
          /**
           * Names mapped at once per range. Past this a new name takes the address of the least
           * recently used name, if no live flow holds it and it went unused for reuse_after_s;
           * when none did, the new name is answered SERVFAIL.
           */
          size: z.number().int().min(1).default(65_536),
          /** Applications keep answers past their TTL: an address goes to another name only after this long unused. */
          reuse_after_s: z.number().int().min(0).default(600),
          /** Mappings survive restarts here (written atomically); absent: kept in memory only. */
          state_file: z.string().min(1).optional(),
          /** Domain suffixes resolved normally, e.g. local names. */
          exclude: z.array(z.string().min(1)).default([]),
          /** Clients answered with real addresses, as if fake-IP were off (e.g. a Pi-hole on the LAN). */
          exclude_sources: z.array(cidr()).default([]),
        })
        .prefault({}),
    })
    .superRefine((dns, ctx) => {
      if (dns.listen !== undefined && dns.upstreams.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'a DNS listener needs at least one resolver (e.g. tcp://9.9.9.9:53)' });
      }
      if (dns.listen === undefined && dns.rules.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['rules'], message: 'split DNS rules need a DNS listener (dns.listen) to answer with them' });
      }
      if (dns.fake_ip.reuse_after_s < dns.fake_ip.ttl_s) {
        ctx.addIssue({ code: 'custom', path: ['fake_ip', 'reuse_after_s'], message: `must be at least ttl_s (${dns.fake_ip.ttl_s}): an address recycled while its answer is still valid leads to another name` });
      }
      const families = dns.fake_ip.ranges.map((r) => (r.includes(':') ? 6 : 4));
      if (new Set(families).size !== families.length) {
        ctx.addIssue({ code: 'custom', path: ['fake_ip', 'ranges'], message: 'at most one range per address family' });
      }
  }),
);

/** Learning a flow's name from its first bytes (TLS SNI, HTTP Host), for flows to real addresses. */
const sniffSchema = lazySchema(() =>
  z.strictObject({
    enabled: z.boolean().default(false),
    /** Longest wait for the client's first bytes; server-speaks-first protocols are delayed this much. */
    timeout_ms: z.number().int().min(0).max(10_000).default(300),
  }),
);

/**
 * Optimistic data: the client's first bytes go in the same write as the upstream handshake, so the
 * first byte comes back one round trip sooner. Only to upstreams known to read bytes sent right
 * behind the request (SOCKS5 with pipelining 'on', or 'auto' once learned).
 */
const optimisticDataSchema = lazySchema(() =>
  z.strictObject({
    enabled: z.boolean().default(false),
    /** Longest wait for the client's first bytes; server-speaks-first protocols are delayed this much. */
    wait_ms: z.number().int().min(0).max(1_000).default(50),
  }),
);

/** UDP through the TPROXY listeners (`tproxy`): associations and the full-cone reply sockets. */
const udpSchema = lazySchema(() =>
  z.strictObject({
    /** An association (and a reply socket) unused this long is closed. */
    timeout_s: z.number().positive().default(60),
    /** At most this many client address:ports at once; the least recently used one is closed. */
    max_associations: z.number().int().positive().default(1024),
    /**
     * At most this many associations opening at once (an upstream dial each, with its TCP control
     * connection); datagrams of further new clients are dropped until one is done.
     */
    max_pending_associations: z.number().int().positive().default(256),
    /** Transparent sockets replying as remote hosts (one per remote address:port). */
    max_reply_sockets: z.number().int().positive().default(1024),
    /** Per association, datagrams held while the upstream handshake runs. */
    queue_datagrams: z.number().int().positive().default(32),
    queue_bytes: z.number().int().positive().default(65_536),
    /** Send our UDP address in UDP ASSOCIATE instead of 0.0.0.0:0 (for servers that insist). */
    send_source: z.boolean().default(false),
  }),
);

/**
 * The sections a config may leave out, each built (lazySchema) only for a config that has it; one
 * left out becomes its defaults (section-defaults.ts) without its schema being built.
 */
const SECTIONS = {
  log: lazySchema(() =>
    z
      .strictObject({
        level: z.enum(LOG_LEVELS).default('info'),
        format: z.enum(LOG_FORMATS).default('auto'),
      })
      .prefault({}),
  ),
  /** Listeners that programs connect to themselves (SOCKS4/4a/5 and HTTP proxy). */
  inbounds: lazySchema(() => inboundsSchema().prefault({})),
  /** Named sets of upstreams with health checks and a policy; usable wherever an upstream name is. */
  groups: lazySchema(() => z.array(groupSchema()).default([])),
  health: lazySchema(() => healthSchema().prefault({})),
  route: lazySchema(() => routeSchema().prefault({})),
  timeouts: lazySchema(() =>
    z
      .strictObject({
        connect_ms: positiveMs().default(10_000),
        handshake_ms: positiveMs().default(10_000),
        idle_s: z.number().int().min(0).default(600),
        drain_ms: z.number().int().min(0).default(10_000),
      })
      .prefault({}),
  ),
  rules: lazySchema(() => rulesSchema().prefault({})),
  dns: lazySchema(() => dnsSchema().prefault({})),
  sniff: lazySchema(() => sniffSchema().prefault({})),
  optimistic_data: lazySchema(() => optimisticDataSchema().prefault({})),
  udp: lazySchema(() => udpSchema().prefault({})),
};
export type SectionName = keyof typeof SECTIONS;
type Sections = { [K in SectionName]: ReturnType<(typeof SECTIONS)[K]> };

/** `exec` diverts to a running daemon and dials no upstream itself: its config may name none. */
export type UpstreamsRequirement = 'required' | 'optional';

function buildConfigSchema(sections: Sections, requirement: UpstreamsRequirement) {
  const upstreams = z.array(upstream(), { error: (issue) => (issue.input === undefined ? 'at least one upstream is required' : undefined) }).min(1, 'at least one upstream is required');
  return z
    .strictObject({
      log: sections.log,
      /** SO_MARK put on every socket the daemon opens, so rules can exclude its own traffic. */
      mark: z.number().int().min(0).max(MAX_MARK).default(0),
      /** splice: established connections are relayed in the kernel (splice(2)); copy: through Node streams. */
      relay: z.enum(RELAYS).default('splice'),
      redirect: z.array(listenSocket()).default([]),
      tproxy: z.array(listenSocket()).default([]),
      inbounds: sections.inbounds,
      // The output type is the same either way; only the input may lack the key.
      upstreams: requirement === 'optional' ? (upstreams.default([]) as unknown as typeof upstreams) : upstreams,
      groups: sections.groups,
      health: sections.health,
      route: sections.route,
      timeouts: sections.timeouts,
      rules: sections.rules,
      dns: sections.dns,
      sniff: sections.sniff,
      optimistic_data: sections.optimistic_data,
      udp: sections.udp,
      /** Processes that accept connections, each with SO_REUSEPORT listeners (`run --workers`). */
      workers: z.number().int().min(1).max(MAX_WORKERS).default(1),
    })
    .superRefine((config, ctx) => {
      // A fake-IP mapping lives in one process; the worker that gets the TCP flow may be another.
      if (config.workers > 1 && config.dns.fake_ip.enabled) {
        ctx.addIssue({ code: 'custom', path: ['workers'], message: 'workers > 1 cannot be combined with dns.fake_ip.enabled (fake-IP mappings are per process): set workers: 1 or dns.fake_ip.enabled: false' });
      }
    });
}
type ConfigSchema = ReturnType<typeof buildConfigSchema>;

const built = new Map<string, ConfigSchema>();

/**
 * The config schema for `raw` (the file's mapping with the flags applied): the full schema, except
 * that the sections `raw` leaves out become their defaults without their schemas being built.
 * One schema per set of sections present (a reload usually has the same).
 */
export function configSchemaFor(raw: Readonly<Record<string, unknown>>, requirement: UpstreamsRequirement = 'required'): ConfigSchema {
  const names = Object.keys(SECTIONS) as SectionName[];
  const present = names.filter((name) => raw[name] !== undefined);
  const key = `${requirement} ${present.join(' ')}`;
  let schema = built.get(key);
  if (!schema) {
    const sections = Object.fromEntries(names.map((name) => [name, present.includes(name) ? SECTIONS[name]() : sectionLeftOut(name, SECTIONS[name] as () => z.ZodType)])) as Sections;
    schema = buildConfigSchema(sections, requirement);
    built.set(key, schema);
  }
  return schema;
}

/** Every section's schema, for section-defaults.ts to find what each left-out section becomes. */
export const SECTION_SCHEMAS: { readonly [K in SectionName]: () => z.ZodType } = SECTIONS;

export type ConfigFile = z.input<ConfigSchema>;
export type ValidConfig = z.output<ConfigSchema>;
export type UpstreamEntry = z.output<ReturnType<typeof upstreamObject>>;
export type RulesConfig = DeepReadonly<z.output<ReturnType<typeof rulesSchema>>>;
export type DnsConfig = DeepReadonly<z.output<ReturnType<typeof dnsSchema>>>;
export type SniffConfig = DeepReadonly<z.output<ReturnType<typeof sniffSchema>>>;
export type OptimisticDataConfig = DeepReadonly<z.output<ReturnType<typeof optimisticDataSchema>>>;
export type UdpConfig = DeepReadonly<z.output<ReturnType<typeof udpSchema>>>;
export type RouteConfig = DeepReadonly<z.output<ReturnType<typeof routeSchema>>>;
export type GroupConfig = DeepReadonly<z.output<ReturnType<typeof groupSchema>>>;
export type HealthConfig = DeepReadonly<z.output<ReturnType<typeof healthSchema>>>;
