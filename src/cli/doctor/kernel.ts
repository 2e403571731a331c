import { runTool } from '../../firewall/exec.js';
import type { Observed } from '../../firewall/transaction.js';
import { finding, type Finding } from './report.js';

/**
 * Each feature as a throwaway nft table checked by the kernel (`nft --check` validates the whole
 * transaction, loading modules, then aborts it): nothing is installed, and a missing feature is
 * named by itself.
 */
const FEATURES: readonly [string, string, string][] = [
  ['REDIRECT', 'type nat hook output priority -100;', 'meta l4proto tcp redirect to :1'],
  ['TPROXY (IPv4)', 'type filter hook prerouting priority mangle;', 'meta l4proto tcp tproxy ip to 127.0.0.1:1'],
  ['TPROXY (IPv6)', 'type filter hook prerouting priority mangle;', 'meta l4proto udp tproxy ip6 to [::1]:1'],
  ['socket match', 'type filter hook prerouting priority mangle;', 'meta l4proto tcp socket transparent 1 accept'],
];

function probe(hook: string, rule: string): string | undefined {
  const text = `table inet socksgate_doctor_probe {\n  chain c { ${hook} policy accept;\n    ${rule}\n  }\n}\n`;
  const r = runTool('nft', ['--check', '-f', '-'], text);
  return r.ok ? undefined : r.stderr.split('\n').find((l) => /Error/.test(l))?.trim() ?? 'rejected';
}

export function kernelFindings(observed: Observed): Finding[] {
  if (!observed.nft) return [finding('warn', 'kernel', 'nft is not installed, so kernel support for REDIRECT/TPROXY was not checked (Debian: apt-get install nftables)')];
  const missing = FEATURES.flatMap(([name, hook, rule]) => {
    const why = probe(hook, rule);
    return why === undefined ? [] : [`${name} (${why})`];
  });
  if (missing.length) return [finding('FAIL', 'kernel', `missing ${missing.join(', ')}: this kernel cannot divert traffic that way`)];
  return [finding('ok', 'kernel', `REDIRECT, TPROXY (IPv4, IPv6) and the socket match are supported`)];
}

export function backendFindings(observed: Observed, backend: 'nft' | 'iptables', setting: string): Finding[] {
  const chosen = setting === 'auto' ? `${backend} (auto)` : backend;
  const iptables = observed.saved.ipv4 === undefined ? 'iptables is not installed' : `iptables is ${observed.iptablesNft ? 'iptables-nft' : 'iptables-legacy'}`;
  if (backend === 'nft' && !observed.nft) return [finding('FAIL', 'backend', `${chosen}, but the nft tool is missing (Debian: apt-get install nftables)`)];
  if (backend === 'iptables' && observed.saved.ipv4 === undefined) return [finding('FAIL', 'backend', `${chosen}, but iptables-save/iptables-restore are missing (Debian: apt-get install iptables)`)];
  const ipv6 = observed.saved.ipv6 === undefined && backend === 'iptables' ? '; ip6tables is missing, so IPv6 is not diverted' : '';
  return [finding(ipv6 ? 'warn' : 'ok', 'backend', `${chosen}; ${iptables}${ipv6}`)];
}

/** TPROXY needs fib rules (`ip rule`) and a local route table. */
export function policyRoutingFindings(): Finding[] {
  const v4 = runTool('ip', ['-4', 'rule', 'list']);
  const v6 = runTool('ip', ['-6', 'rule', 'list']);
  if (!v4.ok) return [finding('FAIL', 'policy routing', `ip rule does not work (${v4.stderr.trim() || 'iproute2 missing?'}): TPROXY cannot be used`)];
  return [finding(v6.ok ? 'ok' : 'warn', 'policy routing', v6.ok ? 'ip rule works for IPv4 and IPv6' : `ip -6 rule fails (${v6.stderr.trim()}): no IPv6 TPROXY`)];
}
