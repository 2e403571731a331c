import path from 'node:path';
import { LAB_ADDR, LAB_HOSTS } from '../constants.js';
import type { Lab, LabProcess, NsRole } from '../types.js';
import { started } from './started.js';

export interface DnsmasqHandle {
  /** Listening addresses (UDP and TCP port 53 by default) in the internet namespace. */
  hosts: string[];
  port: number;
  /** name → address answers it gives (A, and AAAA for IPv6 addresses). */
  records: Record<string, string[]>;
  proc: LabProcess;
  stop(): Promise<void>;
}

/**
 * dnsmasq as an authoritative-style answerer in the internet namespace on 198.51.100.2 (+
 * 2001:db8:2::2 with ipv6), or in `ns` on `hosts` (e.g. a LAN resolver in the proxy namespace
 * on 192.0.2.1, which the client reaches directly), its own config only: no resolv.conf, no
 * /etc/hosts, no forwarding.
 * Answers web.lab.test (A 198.51.100.2, AAAA 2001:db8:2::2) and alt.lab.test (A 203.0.113.10),
 * plus `records` (a name also answers for every name under it); other names get REFUSED (nothing
 * is forwarded).
 */
export async function startDnsmasq(
  lab: Lab,
  opts: {
    port?: number;
    records?: Record<string, string[]>;
    timeoutMs?: number;
    /** No --log-queries: a query log costs dnsmasq more than answering (the benchmark). */
    quiet?: boolean;
    /** TTL of its answers (--local-ttl); dnsmasq's default, 0, is one no cache keeps. */
    ttl?: number;
    /** Where it runs (default: internet) and on which of that namespace's addresses it listens. */
    ns?: NsRole;
    hosts?: string[];
  } = {},
): Promise<DnsmasqHandle> {
  const port = opts.port ?? 53;
  const A = LAB_ADDR;
  const records: Record<string, string[]> = {
    [LAB_HOSTS.web]: [A.internet, ...(lab.ipv6 ? [A.internet6] : [])],
    [LAB_HOSTS.alt]: [A.extraTarget],
    ...opts.records,
  };
  const ns = opts.ns ?? 'internet';
  const hosts = opts.hosts ?? [A.internet, ...(lab.ipv6 ? [A.internet6] : [])];
  const label = ns === 'internet' ? `dnsmasq-${port}` : `dnsmasq-${ns}-${port}`;
  // --keep-in-foreground, not --no-daemon: in debug mode dnsmasq serves one TCP connection at a time,
  // inline, so a persistent (RFC 7766) DNS-over-TCP client would block every other query.
  const args = ['--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null', '--bind-interfaces', '--user=root', `--port=${port}`, '--log-facility=-'];
  if (!opts.quiet) args.push('--log-queries');
  if (opts.ttl !== undefined) args.push(`--local-ttl=${opts.ttl}`);
  args.push(`--pid-file=${path.join(lab.dir, `${label}.pid`)}`);
  for (const host of hosts) args.push(`--listen-address=${host}`);
  for (const [name, addrs] of Object.entries(records)) for (const addr of addrs) args.push(`--address=/${name}/${addr}`);
  const proc = lab.spawn(ns, 'dnsmasq', args, { name: label });
  return started(lab, proc, ns, hosts.map((h): [string, number] => [h, port]), opts.timeoutMs ?? 10_000, { hosts, port, records });
}
