import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type pinoPretty from 'pino-pretty';

export type { Logger };

/** Any key that could hold a secret is censored, wherever a careless caller puts it. */
const REDACT = ['password', '*.password', 'pass', '*.pass', 'authorization', '*.authorization', 'proxyAuthorization'];

export function createLogger(opts: { level: string; format: 'auto' | 'json' | 'pretty' }): Logger {
  const usePretty = opts.format === 'pretty' || (opts.format === 'auto' && process.stdout.isTTY === true);
  const options = { level: opts.level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '***' } };
  if (!usePretty) return pino(options, pino.destination({ fd: 1, sync: true }));
  // pino-pretty (and its colour and time-format dependencies) is loaded only when it prints.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof pinoPretty;
  return pino(options, pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l' }));
}
