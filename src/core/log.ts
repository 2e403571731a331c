import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import { isatty } from 'node:tty';
import type pinoPretty from 'pino-pretty';

import { LazyLogger, type Logger } from './lazy-logger.js';

export type { Logger };

/** Any key that could hold a secret is censored, wherever a careless caller puts it. */
const REDACT = ['password', '*.password', 'pass', '*.pass', 'authorization', '*.authorization', 'proxyAuthorization'];

/** Linux's memory devices (/dev/null, /dev/zero, …): character devices that are never terminals. */
const MEM_MAJOR = 1;

/**
 * isatty(fd), without loading node:tty (and the net and stream modules under it, ~3 ms of start-up)
 * when fd cannot be a terminal: only a character device can, and not /dev/null, where a service's or
 * a test's stdout often goes. The build makes node:tty's isatty load the module at its first call.
 */
export function isTerminal(fd: number): boolean {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return false; // not open: no terminal either
  }
  if (!stat.isCharacterDevice() || ((stat.rdev >> 8) & 0xfff) === MEM_MAJOR) return false;
  return isatty(fd);
}

/** The daemon's logger; pino (and pino-pretty) are loaded at its first line (lazy-logger.ts). */
export function createLogger(opts: { level: string; format: 'auto' | 'json' | 'pretty' }): Logger {
  return new LazyLogger(() => pinoLogger(opts), opts.level);
}

function pinoLogger(opts: { level: string; format: 'auto' | 'json' | 'pretty' }) {
  // isTerminal, not process.stdout.isTTY, and dest, not fd (pino reads process.stdout.fd for a missing
  // dest): the logs go to fd 1 directly, and making process.stdout (a stream) costs ~3 ms of start-up.
  const tty = isTerminal(1);
  const usePretty = opts.format === 'pretty' || (opts.format === 'auto' && tty);
  const options = { level: opts.level, base: { pid: process.pid }, redact: { paths: REDACT, censor: '***' } };
  if (!usePretty) return pino(options, pino.destination({ dest: 1, sync: true }));
  // pino-pretty (and its colour and time-format dependencies) is loaded only when it prints.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof pinoPretty;
  return pino(options, pretty({ sync: true, colorize: tty, translateTime: 'SYS:HH:MM:ss.l' }));
}
