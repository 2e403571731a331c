import { z } from 'zod';
import { parseHostPort } from '../core/addr.js';
import { PIPELINING_MODES, parseUpstreamUrl } from './upstream-url.js';

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

const listenAddress = z.string().superRefine(parsesWith((text) => parseHostPort(text)));
const positiveMs = z.number().int().positive();

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const upstreamObject = z.strictObject({
  url: z.string().superRefine(parsesWith(parseUpstreamUrl)),
  name: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  password_file: z.string().min(1).optional(),
  password_env: z.string().min(1).optional(),
  pipelining: z.enum(PIPELINING_MODES).optional(),
});

/** An upstream is a URL string or an object with a `url` and options. */
const upstream = z.preprocess((value) => (typeof value === 'string' ? { url: value } : value), upstreamObject);

export const configSchema = z.strictObject({
  log: z
    .strictObject({
      level: z.enum(LOG_LEVELS).default('info'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
  /** SO_MARK put on every socket the daemon opens, so rules can exclude its own traffic. */
  mark: z.number().int().min(0).max(0xffffffff).default(0),
  redirect: z.array(listenAddress).default([]),
  tproxy: z.array(listenAddress).default([]),
  upstreams: z.array(upstream).min(1, 'at least one upstream is required'),
  timeouts: z
    .strictObject({
      connect_ms: positiveMs.default(10_000),
      handshake_ms: positiveMs.default(10_000),
      idle_s: z.number().int().min(0).default(600),
      drain_ms: z.number().int().min(0).default(10_000),
    })
    .prefault({}),
});

export type ConfigFile = z.input<typeof configSchema>;
export type ValidConfig = z.output<typeof configSchema>;
export type UpstreamEntry = z.output<typeof upstreamObject>;
