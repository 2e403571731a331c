import type { IpFamily } from '../core/cidr.js';
import { usesPolicyRouting, type FamilyPlan, type FirewallPlan } from './plan.js';
import { ipsetName } from './render-ipset.js';

/**
 * The plan as `iptables-restore --noflush` / `ip6tables-restore --noflush` input. socksgate owns
 * exactly the chains named `<prefix>_<suffix>` for the suffixes below (never any other chain that
 * merely starts with the prefix) and hooks them into built-in chains with jump rules. The input
 * first removes whatever of ours is already there (read from `iptables-save`), so an apply
 * replaces an earlier or crashed set in the same transaction and applying twice equals once.
 */

type Table = 'nat' | 'mangle';

interface TableRules {
  /** Chains socksgate creates in this table. */
  chains: string[];
  /** Rules, `-A CHAIN …`, including the jumps from built-in chains. */
  rules: string[];
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The chains the rules below create. */
const RULE_CHAINS = ['NAT', 'DNS', 'MARK', 'TPROXY', 'ESTAB', 'DIVERT'] as const;
/** The built-in chains socksgate's jumps hook into. */
export const HOOKED_BUILTINS = ['OUTPUT', 'PREROUTING'] as const;
/** Empty marker chains (iptables-nft only): apply created the table (TABLE) or that built-in chain. */
const MARKERS = ['TABLE', ...HOOKED_BUILTINS] as const;
/** Every chain suffix socksgate owns after `<prefix>_`. */
export const OWNED_SUFFIXES: readonly string[] = [...RULE_CHAINS, ...MARKERS];

export function isOwnedChain(prefix: string, chain: string): boolean {
  return chain.startsWith(`${prefix}_`) && OWNED_SUFFIXES.includes(chain.slice(prefix.length + 1));
}

/** Our chains and the rules in other chains that jump to them, per table, from iptables-save output. */
export function ownedBy(prefix: string, saved: string): Map<string, { chains: string[]; jumps: string[] }> {
  const owned = new Map<string, { chains: string[]; jumps: string[] }>();
  const isOurs = (chain: string) => isOwnedChain(prefix, chain);
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1).trim();
    const entry = () => owned.get(table) ?? owned.set(table, { chains: [], jumps: [] }).get(table)!;
    const chain = /^:(\S+) /.exec(line)?.[1];
    if (chain && isOurs(chain)) entry().chains.push(chain);
    const rule = /^-A (\S+) .*-[jg] (\S+)/.exec(line);
    if (rule && !isOurs(rule[1]) && isOurs(rule[2])) entry().jumps.push(line);
  }
  return owned;
}

function daemonExemptions(plan: FirewallPlan, chain: string): string[] {
  const lines: string[] = [];
  if (plan.daemonMark) lines.push(`-A ${chain} -m mark --mark ${hex(plan.daemonMark)}/${hex(plan.daemonMark)} -j RETURN`);
  for (const uid of plan.excludeUids) lines.push(`-A ${chain} -m owner --uid-owner ${uid} -j RETURN`);
  for (const gid of plan.excludeGids) lines.push(`-A ${chain} -m owner --gid-owner ${gid} -j RETURN`);
  return lines;
}

function destinationExemptions(plan: FirewallPlan, f: FamilyPlan, chain: string, skipDns: boolean): string[] {
  const lines = [`-A ${chain} -m addrtype --dst-type LOCAL -j RETURN`];
  if (skipDns && f.dnsPort !== undefined) lines.push(`-A ${chain} -p udp --dport 53 -j RETURN`, `-A ${chain} -p tcp --dport 53 -j RETURN`);
  for (const cidr of f.bypass) lines.push(`-A ${chain} -d ${cidr} -j RETURN`);
  if (f.direct) lines.push(`-A ${chain} -m set --match-set ${ipsetName(plan.chain, f.family)} dst -j RETURN`);
  for (const port of plan.bypassPorts) lines.push(`-A ${chain} -p tcp --dport ${port} -j RETURN`, `-A ${chain} -p udp --dport ${port} -j RETURN`);
  return lines;
}

function dnsRedirects(f: FamilyPlan, chain: string): string[] {
  if (f.dnsPort === undefined) return [];
  return [`-A ${chain} -p udp --dport 53 -j REDIRECT --to-ports ${f.dnsPort}`, `-A ${chain} -p tcp --dport 53 -j REDIRECT --to-ports ${f.dnsPort}`];
}

function lanJumps(plan: FirewallPlan, f: FamilyPlan, from: string, to: string): string[] {
  const lan = plan.lan ?? { interfaces: [], sources: [] };
  const lines = lan.interfaces.map((name) => `-A ${from} -i ${name} -j ${to}`);
  for (const src of lan.sources) if (src.family === f.family) lines.push(`-A ${from} -s ${src.text} -j ${to}`);
  return lines;
}

function tproxyTarget(plan: FirewallPlan, proto: 'tcp' | 'udp', to: { ip: string; port: number }): string {
  return `-p ${proto} -j TPROXY --on-port ${to.port} --on-ip ${to.ip} --tproxy-mark ${hex(plan.fwmark)}/${hex(plan.fwmark)}`;
}

/** The established-flow fast path: packets of an accepted transparent socket skip the rules. */
function established(plan: FirewallPlan, from: string, estab: string, tables: TableRules): void {
  tables.chains.push(estab);
  tables.rules.push(`-A ${from} -p tcp -m socket --transparent -j ${estab}`, `-A ${estab} -j MARK --set-xmark ${hex(plan.fwmark)}/${hex(plan.fwmark)}`, `-A ${estab} -j ACCEPT`);
}

/** `socksgate exec`: only that cgroup's sockets (and its descendants') enter our chains. */
function cgroupMatch(plan: FirewallPlan): string {
  return plan.cgroup ? ` -m cgroup --path ${plan.cgroup.path}` : '';
}

function localTables(plan: FirewallPlan, f: FamilyPlan): Record<Table, TableRules> {
  const c = plan.chain;
  const nat: TableRules = { chains: [], rules: [] };
  const mangle: TableRules = { chains: [], rules: [] };
  if (f.tcp?.kind === 'redirect' || f.dnsPort !== undefined) {
    const chain = `${c}_NAT`;
    nat.chains.push(chain);
    nat.rules.push(`-A OUTPUT${cgroupMatch(plan)} -j ${chain}`, ...daemonExemptions(plan, chain), `-A ${chain} -m addrtype --dst-type LOCAL -j RETURN`, ...dnsRedirects(f, chain));
    if (f.tcp?.kind === 'redirect') {
      nat.rules.push(...destinationExemptions(plan, f, chain, false).slice(1), `-A ${chain} -p tcp -j REDIRECT --to-ports ${f.tcp.port}`);
    }
  }
  if (usesPolicyRouting(f)) {
    const mark = `${c}_MARK`;
    const tproxy = `${c}_TPROXY`;
    const set = `-j MARK --set-xmark ${hex(plan.fwmark)}/${hex(plan.fwmark)}`;
    mangle.chains.push(mark, tproxy);
    mangle.rules.push(`-A OUTPUT${cgroupMatch(plan)} -j ${mark}`, ...daemonExemptions(plan, mark), ...destinationExemptions(plan, f, mark, true));
    if (f.tcp?.kind === 'tproxy') mangle.rules.push(`-A ${mark} -p tcp ${set}`);
    if (f.udp) mangle.rules.push(`-A ${mark} -p udp ${set}`);
    mangle.rules.push(`-A PREROUTING -j ${tproxy}`);
    if (f.tcp?.kind === 'tproxy') established(plan, tproxy, `${c}_ESTAB`, mangle);
    const marked = `-A ${tproxy} -i lo -m mark --mark ${hex(plan.fwmark)}/${hex(plan.fwmark)}`;
    if (f.tcp?.kind === 'tproxy') mangle.rules.push(`${marked} ${tproxyTarget(plan, 'tcp', f.tcp.to)}`);
    if (f.udp) mangle.rules.push(`${marked} ${tproxyTarget(plan, 'udp', f.udp)}`);
  }
  return { nat, mangle };
}

function routerTables(plan: FirewallPlan, f: FamilyPlan): Record<Table, TableRules> {
  const c = plan.chain;
  const nat: TableRules = { chains: [], rules: [] };
  const mangle: TableRules = { chains: [], rules: [] };
  if (usesPolicyRouting(f)) {
    const tproxy = `${c}_TPROXY`;
    const divert = `${c}_DIVERT`;
    mangle.chains.push(tproxy);
    mangle.rules.push(`-A PREROUTING -j ${tproxy}`);
    if (f.tcp?.kind === 'tproxy') established(plan, tproxy, `${c}_ESTAB`, mangle);
    mangle.chains.push(divert);
    mangle.rules.push(...lanJumps(plan, f, tproxy, divert), ...destinationExemptions(plan, f, divert, true));
    if (f.tcp?.kind === 'tproxy') mangle.rules.push(`-A ${divert} ${tproxyTarget(plan, 'tcp', f.tcp.to)}`);
    if (f.udp) mangle.rules.push(`-A ${divert} ${tproxyTarget(plan, 'udp', f.udp)}`);
  }
  if (f.dnsPort !== undefined) {
    const chain = `${c}_NAT`;
    const dns = `${c}_DNS`;
    nat.chains.push(chain, dns);
    nat.rules.push(`-A PREROUTING -j ${chain}`, ...lanJumps(plan, f, chain, dns), ...dnsRedirects(f, dns));
  }
  return { nat, mangle };
}

/**
 * The empty chain that records "socksgate created this table" (iptables-nft only): iptables
 * cannot delete a table, so flush deletes it through nft when this marker says it was ours.
 */
export const tableMarker = (prefix: string) => `${prefix}_TABLE`;

/**
 * The same for a built-in chain: iptables-nft creates one on first use, in a table that may hold
 * others' chains and so stay; flush deletes the built-in chain through nft when this says it was ours.
 */
export const builtinMarker = (prefix: string, builtin: string) => `${prefix}_${builtin}`;

const isMarker = (prefix: string, chain: string) => MARKERS.some((suffix) => chain === `${prefix}_${suffix}`);

/** Removal of everything of ours in `saved`, per table: unhook, flush, delete (markers too unless kept). */
function removal(prefix: string, saved: string, keepMarkers: boolean): Map<string, { declare: string[]; lines: string[] }> {
  const out = new Map<string, { declare: string[]; lines: string[] }>();
  for (const [table, { chains, jumps }] of ownedBy(prefix, saved)) {
    const removed = keepMarkers ? chains.filter((chain) => !isMarker(prefix, chain)) : chains;
    out.set(table, {
      declare: removed.map((chain) => `:${chain} - [0:0]`),
      lines: [...jumps.map((rule) => rule.replace(/^-A /, '-D ')), ...removed.map((chain) => `-X ${chain}`)],
    });
  }
  return out;
}

function hasTable(saved: string, table: string): boolean {
  return saved.split('\n').includes(`*${table}`);
}

function restoreInput(sections: Map<string, { declare: string[]; lines: string[] }>): string {
  let text = '';
  for (const [table, { declare, lines }] of sections) {
    if (!declare.length && !lines.length) continue;
    text += [`*${table}`, ...declare, ...lines, 'COMMIT', ''].join('\n');
  }
  return text;
}

/** restore input that removes every chain and jump of ours found in `saved` ('' when none). */
export function renderIptablesFlush(prefix: string, saved: string): string {
  return restoreInput(removal(prefix, saved, false));
}

/** Markers for what the restore of `rules` into `table` will create: the table, built-in chains. */
function markersFor(prefix: string, table: Table, rules: readonly string[], saved: string, nftChains: readonly string[]): string[] {
  const markers = hasTable(saved, table) ? [] : [tableMarker(prefix)];
  for (const builtin of HOOKED_BUILTINS) {
    const hooked = rules.some((rule) => rule.startsWith(`-A ${builtin} `));
    if (hooked && !nftChains.includes(`${table} ${builtin}`)) markers.push(builtinMarker(prefix, builtin));
  }
  return markers;
}

/**
 * restore input (`--noflush`) installing `family`'s part of the plan, after removing what of ours
 * `saved` (this family's current iptables-save output) holds. '' when there is nothing to do.
 * With `nftChains` (iptables-nft: "table chain" of the chains nft lists now), what the restore
 * creates gets a marker: a table that does not exist yet, a built-in chain that does not.
 */
export function renderIptables(plan: FirewallPlan, family: IpFamily, saved: string, nftChains?: readonly string[]): string {
  const sections = removal(plan.chain, saved, true);
  const f = plan.families.find((p) => p.family === family);
  if (f) {
    const tables = plan.mode === 'router' ? routerTables(plan, f) : localTables(plan, f);
    for (const table of ['mangle', 'nat'] as const) {
      const { rules } = tables[table];
      if (!tables[table].chains.length) continue;
      const markers = nftChains ? markersFor(plan.chain, table, rules, saved, nftChains) : [];
      const chains = [...markers, ...tables[table].chains];
      const old = sections.get(table) ?? { declare: [], lines: [] };
      // A chain we keep is flushed by its declaration; only chains no longer used are deleted.
      const declare = [...new Set([...old.declare, ...chains.map((chain) => `:${chain} - [0:0]`)])];
      const lines = old.lines.filter((line) => !chains.some((chain) => line === `-X ${chain}`));
      sections.set(table, { declare, lines: [...lines, ...rules] });
    }
  }
  return restoreInput(sections);
}
