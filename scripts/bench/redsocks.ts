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
 *
 * UDP (figure 5a): a `redudp { }` section without dest_ip/dest_port, i.e. TPROXY mode (checked
 * against redudp.c of release-0.5: keys local_ip, local_port, ip, port, login, password,
 * dest_ip, dest_port, udp_timeout, udp_timeout_stream; it reads the original destination with
 * IP_RECVORIGDSTADDR and answers the app from a socket with IP_TRANSPARENT bound to that
 * destination). Both need privilege after `user = redsocks` has dropped root: base { } (which
 * drops it) is initialised before redudp { }, so with `user` redsocks exits at start-up
 * ("setsockopt(..., SOL_IP, IP_TRANSPARENT): Operation not permitted", seen here), and the reply
 * sockets are only created at the first reply of each destination (its own TODO: "separate
 * binding to privileged process"). So with udp the config has no user/group and setpriv starts it
 * as the redsocks user with ambient CAP_NET_ADMIN (IP_TRANSPARENT) and CAP_NET_BIND_SERVICE (a
 * reply socket bound to a remote port < 1024, e.g. 53): the rules still skip it by uid, as for TCP.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Lab, LabProcess } from '../../test/e2e/lab.js';
import { NOFILE_LIMIT, REDIRECT_PORT, listeningSince, type Started } from './bench-lab.js';
import { PEER_USER as REDSOCKS_USER, asPeerUser } from './peers.js';

function quoted(s: string): string {
  if (/["\\\n]/.test(s)) throw new Error(`redsocks config: cannot quote ${JSON.stringify(s)}`);
  return `"${s}"`;
}

export interface RedsocksOptions {
  splice: boolean;
  upstream: { host: string; port: number; auth?: { user: string; pass: string } };
  /** Concurrent connections it may hold (default: its own formula from the fd limit). */
  connMax?: number;
  /** A redudp section (TPROXY mode) listening on 127.0.0.1:port; see the header on privileges. */
  udp?: { port: number; timeoutS?: number };
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
    // with udp, setpriv makes it the redsocks user (see the header)
    ...(opts.udp ? [] : [`  user = ${REDSOCKS_USER};`, `  group = ${REDSOCKS_USER};`]),
    '  redirector = iptables;',
    `  rlimit_nofile = ${NOFILE_LIMIT};`,
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
    ...(opts.udp
      ? [
          'redudp {',
          '  local_ip = 127.0.0.1;',
          `  local_port = ${opts.udp.port};`,
          `  ip = ${u.host};`,
          `  port = ${u.port};`,
          ...(u.auth ? [`  login = ${quoted(u.auth.user)};`, `  password = ${quoted(u.auth.pass)};`] : []),
          `  udp_timeout = ${opts.udp.timeoutS ?? 60};`,
          `  udp_timeout_stream = ${Math.max(180, opts.udp.timeoutS ?? 60)};`,
          '}',
        ]
      : []),
    '',
  ].join('\n');
}

/** Spawned and listening; startupMs is spawn to listening (includes `ip netns exec`). */
export async function startRedsocks(lab: Lab, name: string, opts: RedsocksOptions): Promise<Started> {
  const conf = path.join(lab.dir, `${name}.conf`);
  await fsp.writeFile(conf, redsocksConfig(opts));
  const test = await lab.exec('client', 'redsocks', ['-t', '-c', conf], { allowFail: true });
  if (test.code !== 0) throw new Error(`redsocks -t rejects ${conf}:\n${test.stdout}${test.stderr}`);
  const t0 = performance.now();
  const proc = opts.udp ? lab.spawn('client', ...asPeerUser('redsocks', ['-c', conf]), { name }) : lab.spawn('client', 'redsocks', ['-c', conf], { name });
  return listeningSince(lab, proc, t0, [{ port: REDIRECT_PORT, proto: 'tcp' }, ...(opts.udp ? [{ port: opts.udp.port, proto: 'udp' as const }] : [])]);
}
