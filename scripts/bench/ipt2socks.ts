/**
 * ipt2socks (zfl9, built from a source snapshot: peers.ts) in the client namespace.
 *
 * Options checked against its --help and src/ipt2socks.c: -s/-p the SOCKS5 server, -a/-k its
 * username and password, -b the IPv4 listen address, -l the port (TCP and UDP alike), -4 IPv4 only,
 * -R REDIRECT instead of TPROXY for TCP, -T TCP only, -U UDP only (always by TPROXY), -n
 * RLIMIT_NOFILE, -j worker threads (default 1, kept: one thread, as every socksifier here gets one).
 * TCP figures: `-R -T` behind the REDIRECT rules, as redsocks and socksgate; UDP figure: `-U` behind
 * the TPROXY rules. It relays TCP with splice(2) through two pipes per connection (6 fds).
 *
 * It has no SO_MARK option, so the rules skip it by uid. Its own `-u user` re-executes itself as
 * that user and so loses CAP_NET_ADMIN, which IP_TRANSPARENT needs on its TPROXY listener and UDP
 * reply sockets; setpriv starts it as PEER_USER with that capability (and CAP_NET_BIND_SERVICE, for
 * reply sockets bound to a port < 1024) ambient instead, as redsocks.ts does for redudp.
 */
import type { Lab, LabProcess } from '../../test/e2e/lab.js';
import { waitListening } from './bench-lab.js';
import { PEER_USER } from './peers.js';

/** RLIMIT_NOFILE hard limit on these machines (KERNEL.md). */
const NOFILE = 20_000;

export interface Ipt2socksOptions {
  bin: string;
  upstream: { host: string; port: number; auth?: { user: string; pass: string } };
  port: number;
  /** UDP by TPROXY only (the UDP figure), instead of TCP by REDIRECT only. */
  udp: boolean;
}

export function ipt2socksArgs(o: Ipt2socksOptions): string[] {
  const u = o.upstream;
  return [
    '-s', u.host, '-p', String(u.port),
    ...(u.auth ? ['-a', u.auth.user, '-k', u.auth.pass] : []),
    '-4', '-b', '127.0.0.1', '-l', String(o.port), '-n', String(NOFILE),
    ...(o.udp ? ['-U'] : ['-R', '-T']),
  ];
}

/** Spawned and listening; startupMs is spawn to listening (includes `ip netns exec` and setpriv). */
export async function startIpt2socks(lab: Lab, name: string, o: Ipt2socksOptions): Promise<{ proc: LabProcess; startupMs: number }> {
  const caps = '+net_admin,+net_bind_service';
  const t0 = performance.now();
  const proc = lab.spawn('client', 'setpriv', ['--reuid', PEER_USER, '--regid', PEER_USER, '--clear-groups', '--inh-caps', caps, '--ambient-caps', caps, o.bin, ...ipt2socksArgs(o)], { name });
  try {
    await waitListening(lab, 'client', o.port, 10_000, proc, o.udp ? 'udp' : 'tcp');
  } catch (e) {
    await lab.kill(proc, 500);
    throw e;
  }
  return { proc, startupMs: performance.now() - t0 };
}
