import type { Config } from '../../config/load.js';
import { dependencyOrder, namedEntries } from '../../config/outbound-names.js';
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

/**
 * One line per group from its members' checks: which member is broken and why, which carry no UDP
 * (UDP flows skip them). A group with a working member still carries flows (a warning); one with
 * none is a failure.
 */
export function groupFindings(config: Config, byUpstream: ReadonlyMap<string, readonly Finding[]>): Finding[] {
  const verdicts = new Map<string, Verdict>([...byUpstream].map(([name, findings]) => [name, upstreamVerdict(findings)]));
  const groups = new Map(config.groups.map((g) => [g.name, g]));
  const out: Finding[] = [];
  for (const name of dependencyOrder(namedEntries(config))) {
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
