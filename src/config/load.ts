import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type * as z from 'zod';
import { deepFreeze, type DeepReadonly } from './deep-freeze.js';
import { namedEntries, namespaceIssues, unknownName } from './outbound-names.js';
import { ROUTE_ACTIONS } from './route-schema.js';
import { configSchemaFor, type UpstreamsRequirement, type ValidConfig } from './schema.js';
import { plainConfig } from './plain-config.js';
import { resolveUpstream, type UpstreamConfig } from './upstream.js';
import type { ChainConfig } from './chain.js';
import { resolveSocksInbounds, type SocksInboundConfig } from './socks-inbound.js';
import { ErrorCode } from '../core/errors.js';

export const DEFAULT_REDIRECT = '127.0.0.1:12345';

export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Everything wrong with a config at once, each with its dotted key path. */
export class ConfigError extends Error {
  readonly code = ErrorCode.CONFIG;
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Command-line flags; each one present replaces the file's value. */
export interface ConfigOverrides {
  upstream?: string[];
  redirect?: string[];
  tproxy?: string[];
  /** `run --socks`: proxy inbound listeners, replacing the file's inbounds.socks. */
  socks?: string[];
  mark?: number;
  relay?: string;
  workers?: number;
  logLevel?: string;
  /** Keys of the `rules:` section given as flags (e.g. { mode: 'router' }). */
  rules?: Record<string, unknown>;
  /** Keys of the `dns:` section given as flags; `fake_ip` merges key by key too. */
  dns?: Record<string, unknown> & { fake_ip?: Record<string, unknown> };
  /** Keys of the `sniff:` section given as flags. */
  sniff?: Record<string, unknown>;
  /** Keys of the `udp:` section given as flags. */
  udp?: Record<string, unknown>;
  /** Keys of the `optimistic_data:` section given as flags. */
  optimisticData?: Record<string, unknown>;
}

/**
 * A validated config, every string parsed once, frozen all the way down. `upstreams` holds the
 * entries with a URL; `chains` the ones with `chain:` (see config/chain.ts), whose names share the
 * upstreams' namespace.
 */
export type Config = DeepReadonly<Omit<ValidConfig, 'upstreams' | 'inbounds'> & { upstreams: UpstreamConfig[]; chains: ChainConfig[]; inbounds: { socks: SocksInboundConfig[] } }>;

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read config file ${file}: ${(err as Error).message}` }]);
  }
  // yaml is loaded only when there is a file to parse (flags alone do not need it).
  const { parse: parseYaml, YAMLParseError } = createRequire(import.meta.url)('yaml') as typeof Yaml;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError([{ path: '', message: `${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError([{ path: '', message: `${file} must hold a mapping of keys at the top level` }]);
  }
  return doc as Record<string, unknown>;
}

function applyOverrides(raw: Record<string, unknown>, flags: ConfigOverrides): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...raw };
  if (flags.upstream?.length) merged.upstreams = flags.upstream;
  if (flags.redirect?.length) merged.redirect = flags.redirect;
  if (flags.tproxy?.length) merged.tproxy = flags.tproxy;
  if (flags.socks?.length) merged.inbounds = { ...section(raw.inbounds), socks: flags.socks.map((listen) => ({ listen })) };
  if (flags.mark !== undefined) merged.mark = flags.mark;
  if (flags.relay !== undefined) merged.relay = flags.relay;
  if (flags.workers !== undefined) merged.workers = flags.workers;
  if (flags.logLevel !== undefined) {
    const log = typeof raw.log === 'object' && raw.log !== null ? raw.log : {};
    merged.log = { ...log, level: flags.logLevel };
  }
  if (flags.rules && Object.keys(flags.rules).length) {
    const rules = typeof raw.rules === 'object' && raw.rules !== null ? raw.rules : {};
    merged.rules = { ...rules, ...flags.rules };
  }
  if (flags.dns && Object.keys(flags.dns).length) {
    const dns = section(raw.dns);
    const fakeIp = flags.dns.fake_ip ? { fake_ip: { ...section(dns.fake_ip), ...flags.dns.fake_ip } } : {};
    merged.dns = { ...dns, ...flags.dns, ...fakeIp };
  }
  if (flags.sniff && Object.keys(flags.sniff).length) merged.sniff = { ...section(raw.sniff), ...flags.sniff };
  if (flags.udp && Object.keys(flags.udp).length) merged.udp = { ...section(raw.udp), ...flags.udp };
  if (flags.optimisticData && Object.keys(flags.optimisticData).length) {
    merged.optimistic_data = { ...section(raw.optimistic_data), ...flags.optimisticData };
  }
  // A daemon that serves only programs connecting to its proxy inbound needs no REDIRECT listener.
  if (merged.redirect === undefined && merged.tproxy === undefined && !hasSocksInbound(merged.inbounds)) merged.redirect = [DEFAULT_REDIRECT];
  return merged;
}

function hasSocksInbound(inbounds: unknown): boolean {
  const socks = section(inbounds).socks;
  return Array.isArray(socks) && socks.length > 0;
}

/** A mapping from the file, or {} when absent (a non-mapping is left for the schema to report). */
function section(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function issuePath(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.map(String);
  // An empty key (YAML's bare `? `) would vanish from the path, so it is shown quoted.
  return issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...path, key === '' ? '""' : key].join('.')) : [path.join('.')];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return 'unknown key';
  return issue.message;
}

export type { UpstreamsRequirement };

/** `raw` checked by the config schema; a ConfigError lists everything wrong, each with its key path. */
export function validBySchema(raw: Record<string, unknown>, requirement: UpstreamsRequirement): ValidConfig {
  // jitless: zod would otherwise compile a parser (new Function) for each object schema, which
  // V8's code cache cannot keep, to parse one config: ~8 ms of start-up for nothing.
  const result = configSchemaFor(raw, requirement).safeParse(raw, { jitless: true });
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.flatMap((issue) => issuePath(issue).map((path) => ({ path, message: describeIssue(issue) }))),
    );
  }
  return result.data;
}

export function validateConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, requirement: UpstreamsRequirement = 'required'): Config {
  const valid = plainConfig(raw, requirement) ?? validBySchema(raw, requirement);
  const issues: ConfigIssue[] = [];
  const chains: ChainConfig[] = [];
  /** Every entry of `upstreams` by its index (the names' namespace): a chain with its hops. */
  const named: { name: string; chain?: readonly string[] }[] = [];
  const upstreams = valid.upstreams.flatMap((entry, index) => {
    if (entry.url === undefined) {
      // The schema let it through without a URL: it has `chain:` and a name.
      chains.push({ name: entry.name!, hops: entry.chain! });
      named[index] = { name: entry.name!, chain: entry.chain! };
      return [];
    }
    try {
      const upstream = resolveUpstream({ ...entry, url: entry.url }, env);
      named[index] = { name: upstream.name };
      return [upstream];
    } catch (err) {
      const { key, message } = err as { key?: string; message: string };
      issues.push({ path: `upstreams.${index}${key ? '.' + key : ''}`, message });
      return [];
    }
  });
  const socks = resolveSocksInbounds(valid.inbounds.socks, env, issues);
  if (issues.length) throw new ConfigError(issues);
  const names = named.map((n) => n.name).concat(valid.groups.map((g) => g.name));
  issues.push(...namespaceIssues(namedEntries({ upstreams: named, groups: valid.groups })));
  if (issues.length) throw new ConfigError(issues);
  issues.push(...routeNameIssues(valid.route, names), ...dnsViaIssues(valid.dns, names));
  if (issues.length) throw new ConfigError(issues);
  return deepFreeze({ ...valid, upstreams, chains, inbounds: { socks } });
}

/** Every name the route refers to is an upstream or group (or, for `final`, an action). */
function routeNameIssues(route: ValidConfig['route'], names: readonly string[]): ConfigIssue[] {
  const known = new Set(names);
  const issues: ConfigIssue[] = [];
  if (route.final !== undefined && !known.has(route.final) && !(ROUTE_ACTIONS as readonly string[]).includes(route.final)) {
    issues.push({ path: 'route.final', message: `${unknownName(route.final, known)}; or direct, reject` });
  }
  route.rules.forEach((rule, index) => {
    if (rule.upstream !== undefined && !known.has(rule.upstream)) issues.push({ path: `route.rules.${index}.upstream`, message: unknownName(rule.upstream, known) });
  });
  return issues;
}

/** Every dns.rules `via` is `direct` or the name of an upstream or group. */
function dnsViaIssues(dns: ValidConfig['dns'], names: readonly string[]): ConfigIssue[] {
  return dns.rules.flatMap((rule, index) =>
    rule.via === undefined || rule.via === 'direct' || names.includes(rule.via)
      ? []
      : [{ path: `dns.rules.${index}.via`, message: `${unknownName(rule.via, names)}; or direct` }],
  );
}

export function loadConfig(file: string | undefined, flags: ConfigOverrides = {}, env = process.env, requirement: UpstreamsRequirement = 'required'): Config {
  const raw = file === undefined ? {} : readConfigFile(file);
  return validateConfig(applyOverrides(raw, flags), env, requirement);
}
