import { formatAddr, type SocksAddr } from '../core/addr.js';
import type { UpstreamEntry } from './schema.js';
import { KeyedIssue, readPassword } from './password.js';
import { PIPELINING_MODES, type PipeliningMode, type UpstreamProtocol } from './upstream-url.js';

/** An upstream ready to dial. `password` is the only secret and is never logged. */
export interface UpstreamConfig {
  readonly name: string;
  readonly protocol: UpstreamProtocol;
  readonly server: SocksAddr;
  readonly username?: string;
  readonly password?: string;
  readonly pipelining: PipeliningMode;
}

const URL_PARAMS = ['pipelining', 'password_file', 'password_env', 'name'] as const;

/** An entry with a URL (the schema allows `chain:` instead; those are no upstream of their own). */
export function resolveUpstream(entry: UpstreamEntry & { url: NonNullable<UpstreamEntry['url']> }, env: NodeJS.ProcessEnv): UpstreamConfig {
  const { url } = entry;
  for (const param of Object.keys(url.params)) {
    if (!(URL_PARAMS as readonly string[]).includes(param)) {
      throw new KeyedIssue('url', `unknown URL parameter "${param}" (known: ${URL_PARAMS.join(', ')})`);
    }
  }
  const pipelining = entry.pipelining ?? url.params.pipelining ?? 'auto';
  if (!(PIPELINING_MODES as readonly string[]).includes(pipelining)) {
    throw new KeyedIssue('url', `pipelining must be one of ${PIPELINING_MODES.join(', ')}`);
  }
  const fromUrl = { password: url.password, password_file: url.params.password_file, password_env: url.params.password_env };
  const merged = {
    password: entry.password ?? fromUrl.password,
    password_file: entry.password_file ?? fromUrl.password_file,
    password_env: entry.password_env ?? fromUrl.password_env,
  };
  const password = readPassword(merged, env);
  const username = entry.username ?? url.username;
  if (password !== undefined && username === undefined) throw new KeyedIssue('username', 'a password needs a username');
  if (url.protocol.startsWith('socks4') && password !== undefined) {
    throw new KeyedIssue('password', 'SOCKS4 has no password, only a user id');
  }
  const name = entry.name ?? url.params.name ?? `${url.protocol}://${formatAddr(url.server)}`;
  return Object.freeze({ name, protocol: url.protocol, server: url.server, username, password, pipelining: pipelining as PipeliningMode });
}
