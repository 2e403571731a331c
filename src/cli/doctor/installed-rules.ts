import type { IpFamily } from '../../core/cidr.js';
import { runTool } from '../../firewall/exec.js';
import { usesPolicyRouting, type FirewallPlan } from '../../firewall/plan.js';
import { renderIptables } from '../../firewall/render-iptables.js';
import { renderNft } from '../../firewall/render-nft.js';
import type { Observed } from '../../firewall/transaction.js';
import { finding, type Finding } from './report.js';

/** Rules per chain, from nft text (rendered or `nft list`; hook lines and sets do not count). */
function nftChains(text: string): Map<string, number> {
  const chains = new Map<string, number>();
  let current: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const open = /^chain (\S+) \{$/.exec(line);
    if (open) chains.set((current = open[1]), 0);
    else if (line === '}') current = undefined;
    else if (current && line && !line.startsWith('type ')) chains.set(current, chains.get(current)! + 1);
  }
  return chains;
}

/** Rules per chain of ours, and jumps into them from built-in chains, from restore or save text. */
function iptablesChains(prefix: string, text: string): Map<string, number> {
  const chains = new Map<string, number>();
  for (const line of text.split('\n')) {
    const rule = /^-A (\S+) .*-[jg] (\S+)|^-A (\S+)/.exec(line);
    if (!rule) continue;
    const chain = rule[1] ?? rule[3];
    const key = chain.startsWith(`${prefix}_`) ? chain : rule[2]?.startsWith(`${prefix}_`) ? `${chain} -> ${rule[2]}` : undefined;
    if (key) chains.set(key, (chains.get(key) ?? 0) + 1);
  }
  return chains;
}

/** How `installed` differs from `expected`, in words; [] when identical. */
function differences(expected: Map<string, number>, installed: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [chain, n] of expected) {
    const got = installed.get(chain);
    if (got === undefined) out.push(`${chain} is missing`);
    else if (got !== n) out.push(`${chain} has ${got} rules, expected ${n}`);
  }
  for (const chain of installed.keys()) if (!expected.has(chain)) out.push(`${chain} is not socksgate's current plan`);
  return out;
}

const FLAG: Record<IpFamily, string> = { ipv4: '-4', ipv6: '-6' };

function routingProblems(plan: FirewallPlan): string[] {
  const mark = `0x${plan.fwmark.toString(16)}`;
  return plan.families.filter(usesPolicyRouting).flatMap((f) => {
    const rules = runTool('ip', [FLAG[f.family], 'rule', 'list']).stdout;
    const route = runTool('ip', [FLAG[f.family], 'route', 'show', 'table', String(plan.routeTable)]).stdout;
    const out: string[] = [];
    if (!rules.includes(`fwmark ${mark}/${mark} lookup ${plan.routeTable}`)) out.push(`${f.family} ip rule "fwmark ${mark}/${mark} lookup ${plan.routeTable}" is missing`);
    if (!/^local default dev lo/m.test(route)) out.push(`${f.family} route table ${plan.routeTable} has no local default route`);
    return out;
  });
}

/** Whether the rules `socksgate rules apply` would install are there, exactly. */
export function installedRulesFindings(plan: FirewallPlan, observed: Observed): Finding[] {
  const subject = 'rules';
  let where: string;
  let problems: string[];
  if (observed.nftTable) {
    where = `nft table inet ${plan.nftTable}`;
    const listed = runTool('nft', ['list', 'table', 'inet', plan.nftTable]).stdout;
    problems = differences(nftChains(renderNft(plan)), nftChains(listed));
  } else {
    const families = (['ipv4', 'ipv6'] as const).filter((f) => observed.saved[f]?.includes(`:${plan.chain}_`));
    if (!families.length) {
      return [finding('warn', subject, `not installed: nothing is diverted to socksgate yet (socksgate rules apply, or run --rules auto)`)];
    }
    where = `iptables chains ${plan.chain}_*`;
    problems = (['ipv4', 'ipv6'] as const).flatMap((f) =>
      differences(iptablesChains(plan.chain, renderIptables(plan, f, '')), iptablesChains(plan.chain, observed.saved[f] ?? '')).map((p) => `${f}: ${p}`),
    );
  }
  problems.push(...routingProblems(plan));
  if (problems.length) return [finding('FAIL', subject, `${where} installed but not intact: ${problems.join('; ')} (socksgate rules apply puts them back)`)];
  return [finding('ok', subject, `installed and intact (${where}${plan.families.some(usesPolicyRouting) ? ', policy routing' : ''})`)];
}
