import { parseHostPort } from '../core/addr.js';
import { LOG_FORMATS, LOG_LEVELS, MAX_MARK, MAX_WORKERS, RELAYS, SECTION_SCHEMAS, type SectionName, type UpstreamsRequirement, type ValidConfig } from './schema.js';
import { sectionDefault } from './section-defaults.js';
import { parseUpstreamUrl } from './upstream-url.js';

/**
 * The config of a plain command line (`run --upstream URL --redirect ADDR --mark N --log-level L`:
 * upstream URLs as strings, listeners, mark, relay, workers, log), validated without zod: building
 * even those few schemas and parsing with them was a third of the time socksgate's own code took
 * from its first line to listening (phase marks, interleaved runs). What comes out is what the schema makes of
 * the same input (test/unit/config/plain-config.test.ts compares them). Anything else, or a value
 * this doubts, gives undefined and the schema decides: it alone words the errors, with key paths.
 */
export function plainConfig(raw: Readonly<Record<string, unknown>>, requirement: UpstreamsRequirement): ValidConfig | undefined {
  for (const key of Object.keys(raw)) if (!PLAIN_KEYS.has(key) || raw[key] === undefined) return undefined;
  const upstreams = raw.upstreams === undefined && requirement === 'optional' ? [] : parsedStrings(raw.upstreams, (url) => ({ url: parseUpstreamUrl(url) }));
  const redirect = raw.redirect === undefined ? [] : parsedStrings(raw.redirect, (text) => parseHostPort(text));
  const tproxy = raw.tproxy === undefined ? [] : parsedStrings(raw.tproxy, (text) => parseHostPort(text));
  const mark = raw.mark === undefined ? 0 : integerIn(raw.mark, 0, MAX_MARK);
  const workers = raw.workers === undefined ? 1 : integerIn(raw.workers, 1, MAX_WORKERS);
  const relay = raw.relay === undefined ? 'splice' : RELAYS.find((name) => name === raw.relay);
  const log = raw.log === undefined ? sectionDefault('log', SECTION_SCHEMAS.log) : plainLog(raw.log);
  // No upstreams is valid only when they are optional and left out: a list given must name one.
  if (!upstreams || (upstreams.length === 0 && raw.upstreams !== undefined) || !redirect || !tproxy) return undefined;
  if (mark === undefined || workers === undefined || relay === undefined || log === undefined) return undefined;
  const sections = Object.fromEntries(LEFT_OUT.map((name) => [name, sectionDefault(name, SECTION_SCHEMAS[name])])) as Pick<ValidConfig, (typeof LEFT_OUT)[number]>;
  // The schema's one check across sections (workers and fake IPs), were the defaults ever to trip it.
  if (workers > 1 && sections.dns.fake_ip.enabled) return undefined;
  return { log: log as ValidConfig['log'], mark, relay, redirect, tproxy, upstreams, ...sections, workers };
}

const PLAIN_KEYS = new Set(['upstreams', 'redirect', 'tproxy', 'mark', 'relay', 'workers', 'log']);
const LEFT_OUT = ['inbounds', 'groups', 'health', 'route', 'timeouts', 'rules', 'dns', 'sniff', 'optimistic_data', 'udp'] as const satisfies readonly SectionName[];

/** Each string of a list parsed, or undefined for anything else (not a list, a non-string, a parse error). */
function parsedStrings<T>(value: unknown, parse: (text: string) => T): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  try {
    return value.map((item: unknown) => {
      if (typeof item !== 'string') throw new TypeError('not a string');
      return parse(item);
    });
  } catch {
    return undefined;
  }
}

function integerIn(value: unknown, min: number, max: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;
}

function plainLog(value: unknown): { level: string; format: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { level = 'info', format = 'auto', ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length || !(LOG_LEVELS as readonly unknown[]).includes(level) || !(LOG_FORMATS as readonly unknown[]).includes(format)) return undefined;
  return { level: level as string, format: format as string };
}
