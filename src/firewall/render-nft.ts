import type { IpFamily } from '../core/cidr.js';
import { usesPolicyRouting, type FamilyPlan, type FirewallPlan, type TproxyTarget } from './plan.js';

/**
 * The plan as one `nft -f` transaction on a single `table inet <name>`. It starts by creating
 * and deleting that table, so applying it replaces any earlier (or crashed) copy atomically.
 */

const NFPROTO: Record<IpFamily, string> = { ipv4: 'ipv4', ipv6: 'ipv6' };
const ADDR: Record<IpFamily, string> = { ipv4: 'ip', ipv6: 'ip6' };
const SET: Record<IpFamily, string> = { ipv4: 'bypass4', ipv6: 'bypass6' };
const SET_TYPE: Record<IpFamily, string> = { ipv4: 'ipv4_addr', ipv6: 'ipv6_addr' };
/** route.rules' direct networks (kernel-direct.ts). */
export const DIRECT_SET: Record<IpFamily, string> = { ipv4: 'direct4', ipv6: 'direct6' };
/** Elements per `add element` command: one huge line costs nft more than several. */
const CHUNK = 10000;

const hex = (n: number) => `0x${n.toString(16)}`;
const list = (items: readonly (string | number)[]) => (items.length === 1 ? String(items[0]) : `{ ${items.join(', ')} }`);
const tproxyTo = (family: IpFamily, to: TproxyTarget) => `tproxy ${ADDR[family]} to ${family === 'ipv6' ? `[${to.ip}]` : to.ip}:${to.port}`;

/** Deletes the table if it exists and never fails when it does not. */
export function renderNftFlush(table: string): string {
  return `table inet ${table} {}\ndelete table inet ${table}\n`;
}

function sets(plan: FirewallPlan): string[] {
  return plan.families.map((f) => {
    const elements = f.bypass.length ? ` elements = { ${f.bypass.join(', ')} };` : '';
    const bypass = `  set ${SET[f.family]} { type ${SET_TYPE[f.family]}; flags interval; auto-merge;${elements} }`;
    // No auto-merge: the elements are disjoint ranges already (kernel-direct.ts), which loads much faster.
    return f.direct ? `${bypass}\n  set ${DIRECT_SET[f.family]} { type ${SET_TYPE[f.family]}; flags interval; }` : bypass;
  });
}

/** The direct sets' elements, in chunks after the table; `summary`: one comment line per set instead. */
function directElements(plan: FirewallPlan, summary: boolean): string {
  let text = '';
  for (const f of plan.families) {
    if (!f.direct) continue;
    const set = DIRECT_SET[f.family];
    if (summary) {
      text += `# set ${set}: ${f.direct.elements.length} networks (${f.direct.intervals.length} ranges) from ${f.direct.sources.join(', ')}\n`;
      continue;
    }
    for (let at = 0; at < f.direct.intervals.length; at += CHUNK) {
      text += `add element inet ${plan.nftTable} ${set} { ${f.direct.intervals.slice(at, at + CHUNK).join(', ')} }\n`;
    }
  }
  return text;
}

/** The daemon's own sockets, by mark and owner: never diverted. */
function daemonExemptions(plan: FirewallPlan): string[] {
  const lines: string[] = [];
  if (plan.daemonMark) lines.push(`meta mark & ${hex(plan.daemonMark)} == ${hex(plan.daemonMark)} return`);
  if (plan.excludeUids.length) lines.push(`meta skuid ${list(plan.excludeUids)} return`);
  if (plan.excludeGids.length) lines.push(`meta skgid ${list(plan.excludeGids)} return`);
  return lines;
}

/** Destinations and ports that stay direct; DNS is left to the nat chain when it is captured. */
function destinationExemptions(plan: FirewallPlan, families: readonly FamilyPlan[], skipDns: boolean): string[] {
  const lines = ['fib daddr type local return'];
  if (skipDns) for (const f of families) if (f.dnsPort !== undefined) lines.push(`meta nfproto ${NFPROTO[f.family]} meta l4proto { tcp, udp } th dport 53 return`);
  for (const f of families) lines.push(`${ADDR[f.family]} daddr @${SET[f.family]} return`);
  for (const f of families) if (f.direct) lines.push(`${ADDR[f.family]} daddr @${DIRECT_SET[f.family]} return`);
  if (plan.bypassPorts.length) lines.push(`meta l4proto { tcp, udp } th dport ${list(plan.bypassPorts)} return`);
  return lines;
}

function chain(name: string, hook: string | undefined, body: readonly string[]): string {
  const lines = [`  chain ${name} {`];
  if (hook) lines.push(`    ${hook}`);
  for (const line of body) lines.push(`    ${line}`);
  lines.push('  }');
  return lines.join('\n');
}

/**
 * A base chain, or for a cgroup-scoped plan a base chain that jumps into the body only for that
 * cgroup's sockets. `socket cgroupv2 … != X return` would not do: a socket in a shallower cgroup
 * has no ancestor at that level, so the rule matches neither way and the socket would be diverted.
 */
function hooked(plan: FirewallPlan, name: string, hook: string, body: readonly string[]): string[] {
  if (!plan.cgroup) return [chain(name, hook, body)];
  const level = plan.cgroup.path.split('/').length;
  const scoped = `${name}_cgroup`;
  return [chain(name, hook, [`socket cgroupv2 level ${level} "${plan.cgroup.nftPath}" jump ${scoped}`]), chain(scoped, undefined, body)];
}

function dnsRedirects(families: readonly FamilyPlan[]): string[] {
  return families.flatMap((f) => (f.dnsPort === undefined ? [] : [`meta nfproto ${NFPROTO[f.family]} meta l4proto { tcp, udp } th dport 53 redirect to :${f.dnsPort}`]));
}

function tproxyFamilies(plan: FirewallPlan) {
  return plan.families.filter(usesPolicyRouting);
}

/** host and sidecar: this namespace's own processes, through the output hook. */
function localChains(plan: FirewallPlan): string[] {
  const chains: string[] = [];
  const redirected = plan.families.filter((f) => f.tcp?.kind === 'redirect' || f.dnsPort !== undefined);
  if (redirected.length) {
    const body = [...daemonExemptions(plan), 'fib daddr type local return', ...dnsRedirects(plan.families)];
    const tcp = plan.families.filter((f) => f.tcp?.kind === 'redirect');
    if (tcp.length) {
      body.push(...destinationExemptions(plan, plan.families, false).slice(1));
      for (const f of tcp) if (f.tcp?.kind === 'redirect') body.push(`meta nfproto ${NFPROTO[f.family]} meta l4proto tcp redirect to :${f.tcp.port}`);
    }
    chains.push(...hooked(plan, 'nat_output', 'type nat hook output priority -100; policy accept;', body));
  }
  const tproxied = tproxyFamilies(plan);
  if (tproxied.length) {
    const mark = `meta mark set meta mark | ${hex(plan.fwmark)}`;
    const body = [...daemonExemptions(plan), ...destinationExemptions(plan, plan.families, true)];
    for (const f of tproxied) {
      if (f.tcp?.kind === 'tproxy') body.push(`meta nfproto ${NFPROTO[f.family]} meta l4proto tcp ${mark}`);
      if (f.udp) body.push(`meta nfproto ${NFPROTO[f.family]} meta l4proto udp ${mark}`);
    }
    chains.push(...hooked(plan, 'mangle_output', 'type route hook output priority mangle; policy accept;', body));
    const marked = `iifname "lo" meta mark & ${hex(plan.fwmark)} == ${hex(plan.fwmark)}`;
    const pre: string[] = [];
    if (tproxied.some((f) => f.tcp?.kind === 'tproxy')) pre.push(`meta l4proto tcp socket transparent 1 ${mark} accept`);
    for (const f of tproxied) {
      if (f.tcp?.kind === 'tproxy') pre.push(`${marked} meta l4proto tcp ${tproxyTo(f.family, f.tcp.to)} accept`);
      if (f.udp) pre.push(`${marked} meta l4proto udp ${tproxyTo(f.family, f.udp)} accept`);
    }
    chains.push(chain('mangle_prerouting', 'type filter hook prerouting priority mangle; policy accept;', pre));
  }
  return chains;
}

/** Rules that send LAN traffic (by interface or source) to `target`. */
function lanJumps(plan: FirewallPlan, target: string): string[] {
  const lan = plan.lan ?? { interfaces: [], sources: [] };
  const lines = lan.interfaces.map((name) => `iifname "${name}" jump ${target}`);
  for (const src of lan.sources) lines.push(`${ADDR[src.family]} saddr ${src.text} jump ${target}`);
  return lines;
}

/** router: traffic from the LAN, through the prerouting hook, with TPROXY. */
function routerChains(plan: FirewallPlan): string[] {
  const chains: string[] = [];
  const tproxied = tproxyFamilies(plan);
  if (tproxied.length) {
    const mark = `meta mark set meta mark | ${hex(plan.fwmark)}`;
    const pre: string[] = [];
    if (tproxied.some((f) => f.tcp?.kind === 'tproxy')) pre.push(`meta l4proto tcp socket transparent 1 ${mark} accept`);
    pre.push(...lanJumps(plan, 'divert'));
    chains.push(chain('mangle_prerouting', 'type filter hook prerouting priority mangle; policy accept;', pre));
    const body = destinationExemptions(plan, plan.families, true);
    for (const f of tproxied) {
      if (f.tcp?.kind === 'tproxy') body.push(`meta l4proto tcp ${tproxyTo(f.family, f.tcp.to)} ${mark} accept`);
      if (f.udp) body.push(`meta l4proto udp ${tproxyTo(f.family, f.udp)} ${mark} accept`);
    }
    chains.push(chain('divert', undefined, body));
  }
  if (plan.families.some((f) => f.dnsPort !== undefined)) {
    chains.push(chain('nat_prerouting', 'type nat hook prerouting priority dstnat; policy accept;', lanJumps(plan, 'dns_capture')));
    chains.push(chain('dns_capture', undefined, dnsRedirects(plan.families)));
  }
  return chains;
}

/** `summary`: what `rules print` shows, the direct sets' elements counted instead of listed. */
export function renderNft(plan: FirewallPlan, summary = false): string {
  const body = [...sets(plan), ...(plan.mode === 'router' ? routerChains(plan) : localChains(plan))];
  return `${renderNftFlush(plan.nftTable)}table inet ${plan.nftTable} {\n${body.join('\n')}\n}\n${directElements(plan, summary)}`;
}
