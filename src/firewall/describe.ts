import { formatAddr } from '../core/addr.js';
import type { FirewallPlan } from './plan.js';
import type { Backend } from './transaction.js';

/** One line for logs and the CLI: "nft, host mode: ipv4 tcp tproxy 127.0.0.1:12347, udp …". */
export function describePlan(plan: FirewallPlan, backend: Backend): string {
  const families = plan.families.map((f) => {
    const parts: string[] = [];
    if (f.tcp?.kind === 'redirect') parts.push(`tcp redirect :${f.tcp.port}`);
    if (f.tcp?.kind === 'tproxy') parts.push(`tcp tproxy ${formatAddr({ host: f.tcp.to.ip, port: f.tcp.to.port })}`);
    if (f.udp) parts.push(`udp tproxy ${formatAddr({ host: f.udp.ip, port: f.udp.port })}`);
    if (f.dnsPort !== undefined) parts.push(`dns :${f.dnsPort}`);
    return `${f.family} ${parts.join(', ')}`;
  });
  return `${backend}, ${plan.mode} mode: ${families.join('; ')}`;
}
