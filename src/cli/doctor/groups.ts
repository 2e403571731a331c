import type { Config } from '../../config/load.js';
import { configOutbounds, dependencyOrder, namedEntries } from '../../config/outbound-names.js';
import { finding, type Finding } from './report.js';

/** What doctor learned of one named outbound: why it is broken (undefined: it works), and whether it carries UDP. */
interface Verdict {
  readonly broken?: string;
  readonly udp: boolean;
}

/** An upstream's verdict from its own findings: its first FAIL names what is broken. */
function upstreamVerdict(findings: readonly Finding[]): Verdict {
  const fail = findings.find((f) => f.status === 'FAIL' && !/UDP/.test(f.subject));
  return { ...(fail ? { broken: `${fail.subject.replace(/^upstream [^:]+: /, '')}: ${fail.text}` } : {}), udp: findings.some((f) => /UDP ASSOCIATE/.test(f.subject) && f.status === 'ok') };
}

/** A chain works when every hop does, and carries UDP when every hop does. */
function chainFinding(name: string, hops: readonly string[], verdicts: Map<string, Verdict>): Finding {
  const broken = hops.filter((hop) => verdicts.get(hop)?.broken !== undefined);
  const udp = hops.every((hop) => verdicts.get(hop)?.udp === true);
  verdicts.set(name, { ...(broken.length ? { broken: `hop ${broken.join(', ')} broken` } : {}), udp });
  const subject = `chain ${name} (${hops.join(' → ')})`;
  if (broken.length) return finding('FAIL', subject, broken.map((hop) => `${hop} is broken (${verdicts.get(hop)!.broken})`).join('; '));
  return finding('ok', subject, `every hop works${udp ? '' : '; not every hop carries UDP (its UDP flows are dropped)'}`);
}

/**
 * One line per chain and per group from the checks of their hops and members: which one is broken
 * and why, which carry no UDP (UDP flows skip them). A group with a working member still carries
 * flows (a warning); one with none is a failure.
 */
export function groupFindings(config: Config, byUpstream: ReadonlyMap<string, readonly Finding[]>): Finding[] {
  const verdicts = new Map<string, Verdict>([...byUpstream].map(([name, findings]) => [name, upstreamVerdict(findings)]));
  const groups = new Map(config.groups.map((g) => [g.name, g]));
  const chains = new Map(config.chains.map((c) => [c.name, c]));
  const out: Finding[] = [];
  for (const name of dependencyOrder(namedEntries(configOutbounds(config)))) {
    const chain = chains.get(name);
    if (chain) out.push(chainFinding(name, chain.hops, verdicts));
    const group = groups.get(name);
    if (!group) continue;
    const members = group.members.map((member) => ({ member, verdict: verdicts.get(member) ?? { broken: 'not checked', udp: false } }));
    const broken = members.filter((m) => m.verdict.broken !== undefined);
    const noUdp = members.filter((m) => m.verdict.broken === undefined && !m.verdict.udp).map((m) => m.member);
    const working = members.length - broken.length;
    verdicts.set(name, { ...(working === 0 ? { broken: 'every member is broken' } : {}), udp: members.some((m) => m.verdict.broken === undefined && m.verdict.udp) });
    const subject = `group ${name} (${group.policy})`;
    const udpNote = noUdp.length ? `; no UDP through ${noUdp.join(', ')} (UDP flows skip ${noUdp.length === 1 ? 'it' : 'them'})` : '';
    if (broken.length === 0) out.push(finding('ok', subject, `all ${members.length} members work${udpNote}`));
    else {
      const which = broken.map((m) => `${m.member} is broken (${m.verdict.broken})`).join('; ');
      out.push(finding(working === 0 ? 'FAIL' : 'warn', subject, `${which}; ${working} of ${members.length} members work${udpNote}`));
    }
  }
  return out;
}
