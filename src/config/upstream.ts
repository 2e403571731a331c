import { readFileSync } from 'node:fs';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import type { UpstreamEntry } from './schema.js';
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

/** A problem with one upstream; `key` is the sub-key it concerns (joined to the path by the caller). */
class UpstreamIssue extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

function readPassword(entry: { password?: string; password_file?: string; password_env?: string }, env: NodeJS.ProcessEnv) {
  const sources = (['password', 'password_file', 'password_env'] as const).filter((k) => entry[k] !== undefined);
  if (sources.length > 1) throw new UpstreamIssue(sources[1], `give only one of ${sources.join(', ')}`);
  if (entry.password_file !== undefined) {
    try {
      return readFileSync(entry.password_file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UpstreamIssue('password_file', `cannot read ${entry.password_file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (entry.password_env !== undefined) {
    const value = env[entry.password_env];
    if (value === undefined) throw new UpstreamIssue('password_env', `environment variable ${entry.password_env} is not set`);
    return value;
  }
  return entry.password;
}

/** An entry with a URL (the schema allows `chain:` instead; those are no upstream of their own). */
export function resolveUpstream(entry: UpstreamEntry & { url: NonNullable<UpstreamEntry['url']> }, env: NodeJS.ProcessEnv): UpstreamConfig {
  const { url } = entry;
  for (const param of Object.keys(url.params)) {
    if (!(URL_PARAMS as readonly string[]).includes(param)) {
      throw new UpstreamIssue('url', `unknown URL parameter "${param}" (known: ${URL_PARAMS.join(', ')})`);
    }
  }
  const pipelining = entry.pipelining ?? url.params.pipelining ?? 'auto';
  if (!(PIPELINING_MODES as readonly string[]).includes(pipelining)) {
    throw new UpstreamIssue('url', `pipelining must be one of ${PIPELINING_MODES.join(', ')}`);
  }
  const fromUrl = { password: url.password, password_file: url.params.password_file, password_env: url.params.password_env };
  const merged = {
    password: entry.password ?? fromUrl.password,
    password_file: entry.password_file ?? fromUrl.password_file,
    password_env: entry.password_env ?? fromUrl.password_env,
  };
  const password = readPassword(merged, env);
  const username = entry.username ?? url.username;
  if (password !== undefined && username === undefined) throw new UpstreamIssue('username', 'a password needs a username');
  if (url.protocol.startsWith('socks4') && password !== undefined) {
    throw new UpstreamIssue('password', 'SOCKS4 has no password, only a user id');
  }
  const name = entry.name ?? url.params.name ?? `${url.protocol}://${formatAddr(url.server)}`;
  return Object.freeze({ name, protocol: url.protocol, server: url.server, username, password, pipelining: pipelining as PipeliningMode });
}
