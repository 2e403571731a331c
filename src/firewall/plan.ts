import type { SocksAddr } from '../core/addr.js';
import { parseCidr, type Cidr, type IpFamily } from '../core/cidr.js';
import { ConfigError, type ConfigIssue } from '../config/load.js';
import type { RulesConfig } from '../config/schema.js';
import type { DirectSet, DirectSets } from './kernel-direct.js';
import { ALWAYS_BYPASS, RESERVED_BYPASS } from './reserved.js';

/**
 * What socksgate diverts and how, independent of nft or iptables. Pure: the same config always
 * gives the same plan, and nothing here looks at the machine.
 */

export type RulesMode = RulesConfig['mode'];

export interface TproxyTarget {
  readonly ip: string;
  readonly port: number;
}

export type TcpDivert = { readonly kind: 'redirect'; readonly port: number } | { readonly kind: 'tproxy'; readonly to: TproxyTarget };

export interface FamilyPlan {
  readonly family: IpFamily;
  readonly tcp?: TcpDivert;
  readonly udp?: TproxyTarget;
  /** TCP and UDP to port 53 are redirected to this local port (the DNS listener). */
  readonly dnsPort?: number;
  /** Destinations never diverted. */
  readonly bypass: readonly string[];
  /** route.rules' direct networks the kernel sends direct itself (see kernel-direct.ts); absent when none. */
  readonly direct?: DirectSet;
}

export interface FirewallPlan {
  readonly mode: RulesMode;
  readonly nftTable: string;
  readonly chain: string;
  /** SO_MARK of the daemon's own sockets; 0 when it is excluded by uid/gid only. */
  readonly daemonMark: number;
  readonly fwmark: number;
  readonly routeTable: number;
  readonly excludeUids: readonly number[];
  readonly excludeGids: readonly number[];
  readonly bypassPorts: readonly number[];
  /** Router mode: where diverted traffic comes from. */
  readonly lan?: { readonly interfaces: readonly string[]; readonly sources: readonly Cidr[] };
  /** Only families with something to divert. */
  readonly families: readonly FamilyPlan[];
  /** `socksgate exec`: only sockets of this cgroup (and its descendants) are diverted. */
  readonly cgroup?: CgroupScope;
}

/** A cgroup v2 as each backend names it. */
export interface CgroupScope {
  /** From the cgroup v2 root, e.g. "socksgate/exec-42" (iptables `-m cgroup --path`). */
  readonly path: string;
  /** The same directory relative to /sys/fs/cgroup, the only place nft looks it up. */
  readonly nftPath: string;
}

/** The parts of the daemon's config the rules depend on. */
export interface PlanSource {
  readonly mark: number;
  readonly redirect: readonly SocksAddr[];
  readonly tproxy: readonly SocksAddr[];
  readonly upstreams: readonly { readonly server: SocksAddr }[];
  readonly rules: RulesConfig;
  /** The DNS listener, when the daemon runs one. */
  readonly dnsListen?: SocksAddr;
  readonly cgroup?: CgroupScope;
  /** The direct sets of route.rules (read from their list files by the caller). */
  readonly direct?: DirectSets;
}

export function usesPolicyRouting(family: FamilyPlan): boolean {
  return family.tcp?.kind === 'tproxy' || family.udp !== undefined;
}

const FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];
const LOOPBACK: Record<IpFamily, string> = { ipv4: '127.0.0.1', ipv6: '::1' };

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** Where a listener receives `family` traffic; a `[::]` listener is dual-stack. */
function listenerIp(at: SocksAddr, family: IpFamily): string | undefined {
  if (at.host === '::') return LOOPBACK[family];
  if (at.kind !== family) return undefined;
  return isUnspecified(at.host) ? LOOPBACK[family] : at.host;
}

/** REDIRECT rewrites the destination to loopback (OUTPUT) or the inbound interface (PREROUTING). */
function acceptsRedirect(at: SocksAddr, family: IpFamily, mode: RulesMode): boolean {
  const ip = listenerIp(at, family);
  if (ip === undefined) return false;
  return mode === 'router' ? isUnspecified(at.host) : ip === LOOPBACK[family] || (family === 'ipv4' && ip.startsWith('127.'));
}

function firstTproxy(listeners: readonly SocksAddr[], family: IpFamily): TproxyTarget | undefined {
  for (const at of listeners) {
    const ip = listenerIp(at, family);
    if (ip !== undefined) return { ip, port: at.port };
  }
  return undefined;
}

function firstRedirectPort(listeners: readonly SocksAddr[], family: IpFamily, mode: RulesMode): number | undefined {
  return listeners.find((at) => acceptsRedirect(at, family, mode))?.port;
}

function bypassFor(family: IpFamily, source: PlanSource): string[] {
  const list = [...ALWAYS_BYPASS[family]];
  if (source.rules.bypass_reserved) list.push(...RESERVED_BYPASS[family]);
  for (const { server } of source.upstreams) if (server.kind === family) list.push(parseCidr(server.host).text);
  for (const text of source.rules.bypass) {
    const cidr = parseCidr(text);
    if (cidr.family === family) list.push(cidr.text);
  }
  return [...new Set(list)];
}

function tcpDivert(source: PlanSource, family: IpFamily): TcpDivert | undefined {
  const { mode } = source.rules;
  const tproxy = mode === 'sidecar' ? undefined : firstTproxy(source.tproxy, family);
  if (tproxy) return { kind: 'tproxy', to: tproxy };
  const port = mode === 'router' ? undefined : firstRedirectPort(source.redirect, family, mode);
  return port === undefined ? undefined : { kind: 'redirect', port };
}

function familyPlan(source: PlanSource, family: IpFamily): FamilyPlan | undefined {
  const { rules } = source;
  const tcp = tcpDivert(source, family);
  const udp = (rules.udp ?? rules.mode !== 'sidecar') ? firstTproxy(source.tproxy, family) : undefined;
  const dns = rules.dns_capture && source.dnsListen && acceptsRedirect(source.dnsListen, family, rules.mode) ? source.dnsListen.port : undefined;
  if (!tcp && !udp && dns === undefined) return undefined;
  const direct = source.direct?.[family];
  return {
    family,
    ...(tcp ? { tcp } : {}),
    ...(udp ? { udp } : {}),
    ...(dns !== undefined ? { dnsPort: dns } : {}),
    bypass: bypassFor(family, source),
    ...(direct?.elements.length ? { direct } : {}),
  };
}

function check(source: PlanSource): ConfigIssue[] {
  const { rules, mark } = source;
  const issues: ConfigIssue[] = [];
  const local = rules.mode !== 'router';
  // A cgroup scope leaves the daemon out by itself: it is not in that cgroup.
  if (local && !source.cgroup && mark === 0 && !rules.exclude_uids.length && !rules.exclude_gids.length) {
    issues.push({ path: 'mark', message: `${rules.mode} mode diverts this host's own traffic: set mark (e.g. 0x2) or rules.exclude_uids/exclude_gids so the daemon's upstream connections are not diverted back to it` });
  }
  if ((mark & rules.fwmark) !== 0) issues.push({ path: 'rules.fwmark', message: `overlaps the daemon's mark 0x${mark.toString(16)}: the two marks must share no bit` });
  if (rules.mode === 'router') {
    if (!rules.lan_interfaces.length && !rules.lan_sources.length) issues.push({ path: 'rules.lan_interfaces', message: 'router mode needs lan_interfaces or lan_sources' });
    if (!source.tproxy.length) issues.push({ path: 'tproxy', message: 'router mode diverts with TPROXY: add a tproxy listener such as "[::]:12347"' });
    if (rules.dns_capture && source.dnsListen && !isUnspecified(source.dnsListen.host)) {
      issues.push({ path: 'rules.dns_capture', message: "router mode redirects DNS to the LAN interface's own address: the DNS listener must listen on 0.0.0.0 or [::]" });
    }
  } else if (rules.lan_interfaces.length || rules.lan_sources.length) {
    issues.push({ path: 'rules.lan_interfaces', message: `only router mode uses lan_interfaces/lan_sources (mode is ${rules.mode})` });
  }
  if (rules.mode === 'sidecar' && rules.udp === true) issues.push({ path: 'rules.udp', message: 'sidecar mode changes no routing, so it cannot divert UDP (TPROXY needs policy routing): use host mode' });
  if (rules.udp === true && !source.tproxy.length) issues.push({ path: 'rules.udp', message: 'UDP is diverted with TPROXY: add a tproxy listener' });
  return issues;
}

/** config → plan; a config that cannot be diverted safely is a ConfigError naming the key. */
export function planRules(source: PlanSource): FirewallPlan {
  const issues = check(source);
  if (issues.length) throw new ConfigError(issues);
  const families = FAMILIES.flatMap((family) => familyPlan(source, family) ?? []);
  if (!families.length) {
    const want = source.rules.mode === 'sidecar' ? 'a redirect listener on loopback' : 'a redirect listener on loopback or a tproxy listener';
    throw new ConfigError([{ path: 'redirect', message: `nothing to divert to: ${source.rules.mode} mode needs ${want}` }]);
  }
  const { rules } = source;
  return {
    mode: rules.mode,
    nftTable: rules.nft_table,
    chain: rules.iptables_chain,
    daemonMark: source.mark,
    fwmark: rules.fwmark,
    routeTable: rules.route_table,
    excludeUids: [...rules.exclude_uids],
    excludeGids: [...rules.exclude_gids],
    bypassPorts: [...new Set(rules.bypass_ports)],
    ...(rules.mode === 'router' ? { lan: { interfaces: [...rules.lan_interfaces], sources: rules.lan_sources.map(parseCidr) } } : {}),
    families,
    ...(source.cgroup ? { cgroup: source.cgroup } : {}),
  };
}
