/**
 * hev-socks5-tproxy (heiher, built from a source snapshot: peers.ts) in the client namespace.
 *
 * Config keys checked against src/hev-config.c and conf/main.yml: `main.workers`; `socks5.address`,
 * `port`, `udp` ('udp': UDP ASSOCIATE, the standard UDP-in-UDP; 'tcp' is its own UDP-in-TCP, which
 * Dante lacks), `pipeline` (greeting, login and CONNECT in one write, as socksgate's
 * ?pipelining=on), `username` / `password`, `mark` (SO_MARK on its upstream sockets); `tcp` and
 * `udp` sections (address, port: a section left out is not listened on); `misc.log-level`,
 * `log-file`, `limit-nofile`. It takes TCP and UDP only by TPROXY (no REDIRECT), so its TCP
 * figures run behind the TPROXY recipe for TCP, the others' behind REDIRECT.
 *
 * Its `dns` section is no resolver: it takes DNS queries diverted to it by TPROXY and sends each
 * over plain UDP to one configured server it must reach directly (not through SOCKS5), without a
 * cache; the DNS figure (a resolver whose upstream is reached through the SOCKS server) has no
 * counterpart in it.
 *
 * It runs as root and the rules skip its upstream traffic by its mark.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Lab, LabProcess } from '../../test/e2e/lab.js';
import { NOFILE_LIMIT, listeningSince, type Started } from './bench-lab.js';
import type { PeerStartOptions } from './peers.js';

export interface HevOptions extends PeerStartOptions {
  /** SO_MARK of its upstream sockets, which the diversion rules skip. */
  mark: number;
}

function yamlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function hevConfig(o: HevOptions): string {
  const u = o.upstream;
  return [
    '# socksgate benchmark',
    'main:',
    '  workers: 1',
    'socks5:',
    `  address: ${u.host}`,
    `  port: ${u.port}`,
    "  udp: 'udp'",
    '  pipeline: true',
    `  mark: ${o.mark}`,
    ...(u.auth ? [`  username: ${yamlString(u.auth.user)}`, `  password: ${yamlString(u.auth.pass)}`] : []),
    `${o.udp ? 'udp' : 'tcp'}:`,
    `  port: ${o.port}`,
    "  address: '127.0.0.1'",
    'misc:',
    '  log-file: stderr',
    '  log-level: warn',
    // its default (65535) is over the hard limit here and would not be set
    `  limit-nofile: ${NOFILE_LIMIT}`,
    '',
  ].join('\n');
}

/** Spawned and listening; startupMs is spawn to listening (includes `ip netns exec`). */
export async function startHev(lab: Lab, name: string, o: HevOptions): Promise<Started> {
  const conf = path.join(lab.dir, `${name}.yml`);
  await fsp.writeFile(conf, hevConfig(o));
  const t0 = performance.now();
  const proc = lab.spawn('client', o.bin, [conf], { name });
  return listeningSince(lab, proc, t0, [{ port: o.port, proto: o.udp ? 'udp' : 'tcp' }]);
}
