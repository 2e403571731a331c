import { isIP } from '../../core/ip-literal.js';

/** What sniffers return: the name, NEED_MORE (a valid prefix), or undefined (not this protocol / no name). */
export type SniffResult = string | typeof import('../../core/need-more.js').NEED_MORE | undefined;

const HOST = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*\.?$/;

/**
 * A DNS host name worth a CONNECT by name, lower-cased without the trailing dot; undefined for IP
 * literals and anything else (a sniffed name comes from the client and could be anything).
 */
export function sniffedHostname(text: string): string | undefined {
  const lower = text.toLowerCase();
  if (!HOST.test(lower) || isIP(lower) !== 0) return undefined;
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
