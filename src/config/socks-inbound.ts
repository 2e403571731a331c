import * as z from 'zod';
import { parseHostPort, type SocksAddr } from '../core/addr.js';
import { lazySchema } from './lazy-schema.js';
import { readPassword } from './password.js';

/** Where the proxy inbound listens unless told: loopback only, so nothing else can use it unasked. */
export const DEFAULT_SOCKS_LISTEN = '127.0.0.1:1080';

const listen = () =>
    z.string().transform((text, ctx): SocksAddr => {
    try {
      const addr = parseHostPort(text);
      if (addr.kind !== 'domain') return addr;
      ctx.addIssue({ code: 'custom', message: `"${text}": listen on an IP address (127.0.0.1:1080, [::1]:1080), not a name`, input: text });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, input: text });
    }
    return z.NEVER;
});

/** One login of the proxy inbound; the password is read from its file (one trailing newline trimmed), never written in the config. */
const socksUserSchema = () =>
    z.strictObject({
    name: z.string().min(1).max(255).refine((name) => !name.includes(':'), 'a user name cannot contain ":" (HTTP Basic and the SOCKS4 user-id split at it)'),
    password_file: z.string().min(1),
});

/**
 * A local SOCKS4/4a/5 and HTTP proxy listener (one port, the protocol told by the first byte):
 * programs that speak SOCKS or HTTP proxy get the same route as diverted flows.
 */
export const socksInboundSchema = lazySchema(() =>
  z.strictObject({
    listen: listen().default(parseHostPort(DEFAULT_SOCKS_LISTEN)),
    /** Logins; absent: no login asked (then the listener must be on loopback, or allow_open). */
    users: z.array(socksUserSchema()).default([]),
    /** Serve a non-loopback address without users: anyone who reaches it can use it. */
    allow_open: z.boolean().default(false),
    /** Connections still in their handshake at once; further ones are closed at once. */
    max_handshakes: z.number().int().min(1).default(256),
    /** How long a BIND waits for the remote to connect to the announced address before it is closed. */
    bind_timeout_s: z.number().positive().default(120),
  }),
);

export const inboundsSchema = lazySchema(() =>
  z.strictObject({
    socks: z.array(socksInboundSchema()).default([]),
  }),
);

export type SocksInboundEntry = z.output<ReturnType<typeof socksInboundSchema>>;

/** A login with its password read. */
export interface SocksUser {
  readonly name: string;
  readonly password: string;
}

export interface SocksInboundConfig {
  readonly listen: SocksAddr;
  readonly users: readonly SocksUser[];
  readonly allowOpen: boolean;
  readonly maxHandshakes: number;
  readonly bindTimeoutMs: number;
}

/** A listen address only this host can reach. */
export function isLoopbackListen(addr: SocksAddr): boolean {
  return (addr.kind === 'ipv4' && addr.host.startsWith('127.')) || (addr.kind === 'ipv6' && addr.host === '::1');
}

/** Reads each user's password file and refuses an open proxy on a reachable address; issues name the key path. */
export function resolveSocksInbounds(entries: readonly SocksInboundEntry[], env: NodeJS.ProcessEnv, issues: { path: string; message: string }[]): SocksInboundConfig[] {
  return entries.map((entry, index) => {
    const path = `inbounds.socks.${index}`;
    const names = new Set<string>();
    const users = entry.users.flatMap((user, u) => {
      if (names.has(user.name)) issues.push({ path: `${path}.users.${u}.name`, message: `"${user.name}" is listed twice` });
      names.add(user.name);
      try {
        return [{ name: user.name, password: readPassword({ password_file: user.password_file }, env) ?? '' }];
      } catch (err) {
        issues.push({ path: `${path}.users.${u}.password_file`, message: (err as Error).message });
        return [];
      }
    });
    if (!isLoopbackListen(entry.listen) && entry.users.length === 0 && !entry.allow_open) {
      issues.push({
        path: `${path}.listen`,
        message: `${entry.listen.kind === 'ipv6' ? `[${entry.listen.host}]` : entry.listen.host}:${entry.listen.port} is not a loopback address and the listener has no users: anyone who can reach it could use it as an open proxy. Add users, listen on 127.0.0.1 / [::1], or set allow_open: true`,
      });
    }
    return { listen: entry.listen, users, allowOpen: entry.allow_open, maxHandshakes: entry.max_handshakes, bindTimeoutMs: entry.bind_timeout_s * 1000 };
  });
}
