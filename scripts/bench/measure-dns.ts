/**
 * Figure 5b, DNS: queries/s through socksgate's resolver (its cache, and names nobody asked
 * before, which go to dnsmasq over one persistent TCP connection through Dante), and the latency
 * of an uncached query in round trips of the client ⇄ proxy link. dns-load.mjs asks over UDP from
 * the client namespace. The C peers have no resolver (DNS_ABSENT): the reference is a direct
 * query to dnsmasq.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_ADDR, startDnsmasq, type Lab } from '../../test/e2e/lab.js';
import type { VariantId } from './socksifiers.js';
import { runJsonClient, withCpu } from './util.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dns-load.mjs');
/** dnsmasq answers every name under it (A 198.51.100.9) without forwarding anything. */
export const DNS_ZONE = 'bench.lab.test';
/** socksgate's DNS listener in the client namespace. */
export const SOCKSGATE_DNS = '127.0.0.53';

/** Why the peers have no figure here (hev.ts describes its `dns` section). */
export const DNS_ABSENT: Partial<Record<VariantId, string>> = {
  redsocks: 'redsocks, ipt2socks: no DNS server.',
  ipt2socks: 'redsocks, ipt2socks: no DNS server.',
  hev:
    "hev-socks5-tproxy: its `dns` section is a forwarder, not a resolver: it sends each TPROXY-diverted query over plain UDP to one server it must reach directly (not through SOCKS5) and caches nothing, so there is nothing to set against a resolver that caches and reaches its upstream through the SOCKS server.",
};

export type DnsNames = 'same' | 'unique';

export interface DnsRate {
  perSecond: number;
  answered: number;
  lost: number;
  errors: number;
  cpuS: number;
  cpuPer10k: number;
}

export interface DnsLatency {
  medianMs: number;
  p90Ms: number;
  lost: number;
}

/** dnsmasq in the internet namespace on port 53, answering DNS_ZONE itself; no query log (it costs). */
export async function startBenchDnsmasq(lab: Lab): Promise<void> {
  await startDnsmasq(lab, { records: { [DNS_ZONE]: ['198.51.100.9'] }, quiet: true, ttl: 3600 });
}

/** socksgate's flags for its resolver, upstream dnsmasq through the SOCKS server. */
export function socksgateDnsArgs(): string[] {
  return ['--dns', `${SOCKSGATE_DNS}:53`, '--dns-upstream', `tcp://${LAB_ADDR.internet}:53`];
}

function load<T>(lab: Lab, server: string, names: DnsNames, mode: string[]): Promise<T> {
  return runJsonClient<T>(lab, CLIENT, ['--server', server, '--port', '53', '--zone', DNS_ZONE, '--names', names, ...mode], 90_000);
}

/** Queries/s with 64 in flight for `seconds`, and the socksifier's CPU (pid null: direct). */
export async function runDnsRate(lab: Lab, pid: number | null, server: string, names: DnsNames, seconds: number): Promise<DnsRate> {
  const { result: r, cpuS } = await withCpu(pid, () => load<Omit<DnsRate, 'cpuS' | 'cpuPer10k'>>(lab, server, names, ['--seconds', String(seconds), '--window', '64']));
  if (r.answered === 0) throw new Error(`dns-load (${server}, ${names}): no query answered`);
  return { ...r, cpuS, cpuPer10k: cpuS / (r.answered / 10_000) };
}

/** One query at a time, `count` of them: median and 90th percentile of the answer time. */
export async function runDnsLatency(lab: Lab, server: string, names: DnsNames, count: number): Promise<DnsLatency> {
  return load<DnsLatency>(lab, server, names, ['--count', String(count)]);
}
