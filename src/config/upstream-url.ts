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
const CREDENTIALS = /^([a-z0-9]+:\/\/)?([^@/]*)@/i;

/** The URL with any user:password replaced, safe to show in logs, errors and `ps`. */
export function redactUrl(text: string): string {
  return text.replace(CREDENTIALS, (_m, scheme: string | undefined = '', userinfo: string) => {
    const user = userinfo.split(':')[0];
    return userinfo.includes(':') ? `${scheme}${user}:***@` : `${scheme}${user}@`;
  });
}

/** Throws RangeError whose message shows only the redacted URL. */
export function parseUpstreamUrl(text: string): UpstreamUrl {
  const shown = redactUrl(text);
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
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RangeError(`"${shown}": missing host`);
  const port = url.port === '' ? DEFAULT_PORT[protocol] : Number(url.port);
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  if (protocol.startsWith('socks4') && password !== undefined) {
    throw new RangeError(`"${shown}": SOCKS4 has no password, only a user id (socks4://userid@host:port)`);
  }
  return { protocol, server: addrOf(host, port), username, password, params: Object.fromEntries(url.searchParams) };
}
