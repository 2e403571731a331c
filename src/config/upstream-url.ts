import { addrOf, type SocksAddr } from '../core/addr.js';

export const UPSTREAM_PROTOCOLS = ['socks5', 'socks4', 'socks4a', 'http'] as const;
export type UpstreamProtocol = (typeof UPSTREAM_PROTOCOLS)[number];
export const PIPELINING_MODES = ['auto', 'on', 'off'] as const;
export type PipeliningMode = (typeof PIPELINING_MODES)[number];

/** What an upstream URL says; credentials stay separate from everything that gets logged. */
export interface UpstreamUrl {
  readonly protocol: UpstreamProtocol;
  readonly server: SocksAddr;
  readonly username?: string;
  readonly password?: string;
  /** Query parameters, e.g. ?pipelining=off&password_file=/run/secret */
  readonly params: Readonly<Record<string, string>>;
}

const DEFAULT_PORT: Record<UpstreamProtocol, number> = { socks5: 1080, socks4: 1080, socks4a: 1080, http: 80 };

/**
 * Where the user info of `text` ends (its last "@") and starts: after "://", or at the start of a
 * text without one (a mistyped "socks5:user:pass@host" or "user:pass@host"). The last "@", not the
 * first: a password may hold "@", "/", ":", "%" or "#" as typed, and no part of it may show.
 */
function userinfoSpan(text: string): { start: number; end: number } | undefined {
  // Only a scheme at the very start counts: a mistyped one (socks5:/, socks5//) may be followed by a
  // password holding "://", which must not be taken for the end of the scheme.
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
  const start = scheme ? scheme[0].length : 0;
  const end = text.lastIndexOf('@');
  return end < start ? undefined : { start, end };
}

/**
 * The URL with its whole user info replaced by "***", safe to show in logs, errors and `ps`. The
 * user name goes too: when a password holds "://", or no ":" follows the user, no rule can tell
 * the user from the password.
 */
export function redactUrl(text: string): string {
  const span = userinfoSpan(text);
  return span ? `${text.slice(0, span.start)}***${text.slice(span.end)}` : text;
}

/**
 * The URL parser ends the host part at the first "/", "?" or "#" (and backslash for http), so a
 * password holding one of them, typed as is, would turn into a host, port, path, query or fragment.
 * Refused rather than guessed; backslash in every scheme, so one rule holds for all.
 */
function userinfoOutsideAuthority(text: string): boolean {
  const span = userinfoSpan(text);
  if (!span || span.start === 0) return false;
  const authorityEnd = text.slice(span.start).search(/[/?#\\]/);
  return authorityEnd >= 0 && span.start + authorityEnd < span.end;
}

function decodeUserinfo(part: string, shown: string): string | undefined {
  if (part === '') return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RangeError(`"${shown}": a "%" in the user name or password must start an escape such as %40; write "%" itself as %25`);
  }
}

/** Throws RangeError whose message shows only the redacted URL. */
export function parseUpstreamUrl(text: string): UpstreamUrl {
  const shown = redactUrl(text);
  if (userinfoOutsideAuthority(text)) {
    throw new RangeError(
      `"${shown}": "@" after the host: percent-encode "/", "?", "#" and "\\" in a user name or password (%2F %3F %23 %5C), and "@" in a query value (%40)`,
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`"${shown}" is not a URL; expected e.g. socks5://host:1080`);
  }
  const protocol = url.protocol.replace(/:$/, '') as UpstreamProtocol;
  if (!UPSTREAM_PROTOCOLS.includes(protocol)) {
    throw new RangeError(`"${shown}": scheme must be one of ${UPSTREAM_PROTOCOLS.map((p) => p + '://').join(', ')}`);
  }
  if (url.pathname !== '' && url.pathname !== '/') throw new RangeError(`"${shown}": a proxy URL has no path`);
  if (url.hash !== '') throw new RangeError(`"${shown}": a proxy URL has no #fragment`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RangeError(`"${shown}": missing host`);
  const port = url.port === '' ? DEFAULT_PORT[protocol] : Number(url.port);
  const username = decodeUserinfo(url.username, shown);
  const password = decodeUserinfo(url.password, shown);
  if (protocol.startsWith('socks4') && password !== undefined) {
    throw new RangeError(`"${shown}": SOCKS4 has no password, only a user id (socks4://userid@host:port)`);
  }
  return { protocol, server: addrOf(host, port), username, password, params: Object.fromEntries(url.searchParams) };
}
