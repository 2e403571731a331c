/**
 * redsocks 0.5 (Debian) in the client namespace, the C socksifier socksgate is compared with.
 *
 * Config syntax checked against redsocks 0.5's parser and redsocks.conf.example: sections
 * `base { }` and `redsocks { }`, `key = value;`, booleans on/off; in the redsocks section
 * `splice` (default on for kernels ≥ 2.6.27.13), `login` / `password` for SOCKS5 user/pass; in
 * base `log = stderr`, `user` / `group` (dropped to after binding), `rlimit_nofile`,
 * `redsocks_conn_max` (default (rlimit_nofile * 3/4) / (splice ? 6 : 2)).
 *
 * redsocks has no SO_MARK: it runs as the `redsocks` user the Debian package creates and the
 * REDIRECT rules skip that uid.
 */
import { spawnSync } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Lab, LabProcess } from '../../test/e2e/lab.js';
import { REDIRECT_PORT, waitListening } from './bench-lab.js';

export const REDSOCKS_USER = 'redsocks';
/** RLIMIT_NOFILE hard limit on these machines (KERNEL.md). */
const NOFILE = 20_000;

export function redsocksUid(): number {
  const r = spawnSync('id', ['-u', REDSOCKS_USER], { encoding: 'utf8' });
  const uid = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(uid)) throw new Error(`no user ${REDSOCKS_USER} (the redsocks package creates it)`);
  return uid;
}

function quoted(s: string): string {
  if (/["\\\n]/.test(s)) throw new Error(`redsocks config: cannot quote ${JSON.stringify(s)}`);
  return `"${s}"`;
}

export interface RedsocksOptions {
  splice: boolean;
  upstream: { host: string; port: number; auth?: { user: string; pass: string } };
  /** Concurrent connections it may hold (default: its own formula from the fd limit). */
  connMax?: number;
}

export function redsocksConfig(opts: RedsocksOptions): string {
  const u = opts.upstream;
  return [
    '// socksgate benchmark',
    'base {',
    '  log_debug = off;',
    '  log_info = off;',
    '  log = stderr;',
    '  daemon = off;',
    `  user = ${REDSOCKS_USER};`,
    `  group = ${REDSOCKS_USER};`,
    '  redirector = iptables;',
    `  rlimit_nofile = ${NOFILE};`,
    ...(opts.connMax ? [`  redsocks_conn_max = ${opts.connMax};`] : []),
    '}',
    'redsocks {',
    '  local_ip = 127.0.0.1;',
    `  local_port = ${REDIRECT_PORT};`,
    `  ip = ${u.host};`,
    `  port = ${u.port};`,
    '  type = socks5;',
    ...(opts.splice ? [] : ['  splice = off;']),
    ...(u.auth ? [`  login = ${quoted(u.auth.user)};`, `  password = ${quoted(u.auth.pass)};`] : []),
    '}',
    '',
  ].join('\n');
}

/** Spawned and listening; startupMs is spawn to listening (includes `ip netns exec`). */
export async function startRedsocks(lab: Lab, name: string, opts: RedsocksOptions): Promise<{ proc: LabProcess; startupMs: number }> {
  const conf = path.join(lab.dir, `${name}.conf`);
  await fsp.writeFile(conf, redsocksConfig(opts));
  const test = await lab.exec('client', 'redsocks', ['-t', '-c', conf], { allowFail: true });
  if (test.code !== 0) throw new Error(`redsocks -t rejects ${conf}:\n${test.stdout}${test.stderr}`);
  const t0 = performance.now();
  const proc = lab.spawn('client', 'redsocks', ['-c', conf], { name });
  try {
    await waitListening(lab, 'client', REDIRECT_PORT, 10_000, proc);
  } catch (e) {
    await lab.kill(proc, 500);
    throw e;
  }
  return { proc, startupMs: performance.now() - t0 };
}
