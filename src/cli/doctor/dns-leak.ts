import fs from 'node:fs';
import { BlockList } from 'node:net';
import { isIP } from '../../core/ip-literal.js';
import { parseCidr } from '../../core/cidr.js';
import type { FirewallPlan } from '../../firewall/plan.js';
import { finding, type Finding } from './report.js';

function nameservers(): string[] {
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8').split('\n').flatMap((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1] ?? []);
  } catch {
    return [];
  }
}

function inCidr(ip: string, cidr: string): boolean {
  const { family, text } = parseCidr(cidr);
  const [net, prefix] = text.split('/');
  const list = new BlockList();
  list.addSubnet(net, Number(prefix), family);
  return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Where this host's DNS queries go, by the rules socksgate plans: captured to its DNS listener,
 * carried as UDP through the upstream, or sent straight to the resolver (a leak: the resolver,
 * and everyone on the path, sees every name looked up).
 */
export function dnsLeakFindings(plan: FirewallPlan | undefined, installed: boolean, upstreamUdp: boolean): Finding[] {
  const subject = 'DNS leak';
  const servers = nameservers().filter((s) => isIP(s));
  if (!servers.length) return [finding('warn', subject, '/etc/resolv.conf names no nameserver: cannot tell where queries go')];
  return servers.map((server) => {
    const family = isIP(server) === 6 ? 'ipv6' : 'ipv4';
    const f = plan?.families.find((p) => p.family === family);
    if (!plan || !f) return finding('warn', subject, `queries to ${server} go out directly: socksgate diverts no ${family} traffic`);
    if (f.dnsPort !== undefined) {
      return installed
        ? finding('ok', subject, `queries to ${server} (port 53) are captured to socksgate's DNS listener on port ${f.dnsPort} and resolved through the upstream`)
        : finding('warn', subject, `queries to ${server} would be captured to socksgate's DNS listener, but the rules are not installed: they go out directly`);
    }
    const bypassed = f.bypass.find((cidr) => inCidr(server, cidr));
    if (bypassed) return finding('warn', subject, `queries to ${server} go out directly: it is in the bypassed range ${bypassed}, so that resolver sees every name looked up (set dns.listen + dns.upstreams to resolve through the proxy)`);
    if (f.udp && upstreamUdp && installed) return finding('ok', subject, `UDP queries to ${server} are diverted (TPROXY) and carried through the upstream's UDP relay`);
    if (f.udp && installed) return finding('FAIL', subject, `UDP queries to ${server} are diverted, but the upstream cannot relay UDP: they are dropped and name lookups fail (set dns.listen + dns.upstreams)`);
    return finding('warn', subject, `UDP queries to ${server} go out directly (only TCP is diverted): set dns.listen + dns.upstreams to resolve through the proxy`);
  });
}
