/*
 * The Host of an HTTP/1.x request (RFC 9112 §3, RFC 9110 §7.2):
 *
 *   METHOD SP request-target SP HTTP/1.x CRLF
 *   *( field-name ":" OWS field-value OWS CRLF )
 *   CRLF
 *
 * Only the head is read, and only the first 8 KiB of it: a longer head is not worth waiting for.
 */
import { NEED_MORE } from '../../core/need-more.js';
import { sniffedHostname, type SniffResult } from './hostname.js';

const MAX_HEAD = 8192;
const MAX_METHOD = 16;
const REQUEST_LINE = /^[A-Z]{1,16} [\x21-\x7e]+ HTTP\/1\.[01]$/;

function isUpperAscii(byte: number): boolean {
  return byte >= 0x41 && byte <= 0x5a;
}

export function sniffHttpHost(buf: Buffer): SniffResult {
  // The method decides early whether this is HTTP at all, so other protocols are not kept waiting.
  let i = 0;
  while (i < buf.length && i <= MAX_METHOD && isUpperAscii(buf[i])) i++;
  if (i === buf.length) return i <= MAX_METHOD ? NEED_MORE : undefined;
  if (i === 0 || buf[i] !== 0x20) return undefined;
  const headEnd = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (headEnd < 0) return buf.length >= MAX_HEAD ? undefined : NEED_MORE;
  if (headEnd > MAX_HEAD) return undefined;
  const [requestLine, ...fields] = buf.toString('latin1', 0, headEnd).split('\r\n');
  if (!REQUEST_LINE.test(requestLine)) return undefined;
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0 || field.slice(0, colon).toLowerCase() !== 'host') continue;
    return hostOfAuthority(field.slice(colon + 1).trim());
  }
  return undefined;
}

/** "example.com:8080" → "example.com"; IP literals ("[::1]:80", "192.0.2.1") are not names. */
function hostOfAuthority(value: string): string | undefined {
  if (value.startsWith('[')) return undefined;
  const match = /^([^:]+)(?::\d{1,5})?$/.exec(value);
  return match ? sniffedHostname(match[1]) : undefined;
}
