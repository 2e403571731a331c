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
 * reply sockets; setpriv starts it as PEER_USER with the capabilities ambient instead
 * (peers.ts asPeerUser), as redsocks.ts does for redudp.
 */
import type { Lab, LabProcess } from '../../test/e2e/lab.js';
import { NOFILE_LIMIT, listeningSince, type Started } from './bench-lab.js';
import { asPeerUser, type PeerStartOptions } from './peers.js';

export function ipt2socksArgs(o: PeerStartOptions): string[] {
  const u = o.upstream;
  return [
    '-s', u.host, '-p', String(u.port),
    ...(u.auth ? ['-a', u.auth.user, '-k', u.auth.pass] : []),
    '-4', '-b', '127.0.0.1', '-l', String(o.port), '-n', String(NOFILE_LIMIT),
    ...(o.udp ? ['-U'] : ['-R', '-T']),
  ];
}

/** Spawned and listening; startupMs is spawn to listening (includes `ip netns exec` and setpriv). */
export async function startIpt2socks(lab: Lab, name: string, o: PeerStartOptions): Promise<Started> {
  const t0 = performance.now();
  const proc = lab.spawn('client', ...asPeerUser(o.bin, ipt2socksArgs(o)), { name });
  return listeningSince(lab, proc, t0, [{ port: o.port, proto: o.udp ? 'udp' : 'tcp' }]);
}
