import { parseCidr, type IpFamily } from '../core/cidr.js';
import { ConfigError, type Config } from '../config/load.js';
import { addList, ListError } from '../route/lists.js';
import { CidrSet } from '../route/match/cidr-set.js';

/**
 * Which `direct` destination rules of `route.rules` the kernel can apply by itself, so that their
 * packets never reach the daemon. First match wins, so a rule may go into the kernel only when no
 * earlier rule could have taken one of its flows with another action:
 *
 *   a `direct` rule whose only matchers are `cidr`/`cidr_file` goes into the kernel set only if
 *   every earlier rule is itself `direct` (any matchers), or matches on `cidr`/`cidr_file` only
 *   and none of its networks overlaps the rule's networks.
 *
 * The first earlier rule with any other matcher (domain, port, network, source, inbound) and
 * another action stops the search: from there on, nothing is shadow-free.
 */

/** The selection rule above in one line, for `rules print`. */
export const KERNEL_DIRECT_RULE =
  'a direct rule with only cidr/cidr_file matchers is matched in the kernel when every earlier rule is direct, or cidr/cidr_file-only with no network overlapping it';

type RouteRule = Config['route']['rules'][number];

/** The networks of one rule, with the list file they came from (for `rules print`). */
export interface KernelDirectRule {
  /** Position in route.rules, from 0. */
  readonly index: number;
  readonly networks: readonly string[];
  readonly file?: string;
}

const PURE_KEYS = new Set(['cidr', 'cidr_file', 'action', 'upstream']);

function isPureCidr(rule: RouteRule): boolean {
  return Object.entries(rule).every(([key, value]) => value === undefined || PURE_KEYS.has(key));
}

/** The networks a cidr/cidr_file rule lists, in parseCidr's form; a bad list throws ListError (`file:line: …`). */
export function ruleNetworks(rule: RouteRule, read: (file: string) => string[]): string[] {
  return [...(rule.cidr ?? []).map((text) => parseCidr(text).text), ...(rule.cidr_file === undefined ? [] : read(rule.cidr_file))];
}

function overlaps(a: readonly string[], setA: CidrSet, b: readonly string[], setB: CidrSet): boolean {
  // Two prefixes overlap only when one contains the other, so only when one holds an address of the other.
  const host = (text: string) => text.split('/')[0];
  return a.some((n) => setB.has(host(n))) || b.some((n) => setA.has(host(n)));
}

/** The rules (in order) whose networks the kernel may send direct. Pure given `read`. */
export function selectKernelDirect(rules: readonly RouteRule[], read: (file: string) => string[]): KernelDirectRule[] {
  const selected: KernelDirectRule[] = [];
  const others: string[] = [];
  let othersSet = CidrSet.of([]);
  rules.forEach((rule, index) => {
    const pure = isPureCidr(rule);
    const direct = rule.action === 'direct';
    if (!pure && !direct) {
      // Nothing after this rule is shadow-free: stop by poisoning every later candidate.
      others.push('0.0.0.0/0', '::/0');
      othersSet = CidrSet.of(others);
      return;
    }
    if (!pure) return;
    const networks = ruleNetworks(rule, read);
    if (!direct) {
      others.push(...networks);
      othersSet = CidrSet.of(others);
      return;
    }
    if (others.length && overlaps(networks, CidrSet.of(networks), others, othersSet)) return;
    selected.push({ index, networks, ...(rule.cidr_file === undefined ? {} : { file: rule.cidr_file }) });
  });
  return selected;
}

/** The kernel's direct set of one family: its elements, and the rules they came from. */
export interface DirectSet {
  /** The networks as listed, without repeats: ipset's hash:net takes overlaps and host bits. */
  readonly elements: readonly string[];
  /** The same merged into disjoint ranges: an nft interval set loads these several times faster than overlapping prefixes it must auto-merge. */
  readonly intervals: readonly string[];
  /** "cidr (rule #1)" or the list file, for the summary `rules print` shows instead of the elements. */
  readonly sources: readonly string[];
}

export type DirectSets = Readonly<Record<IpFamily, DirectSet>>;

/** Splits the selected rules' networks by family, without repeats, and merges them into ranges. */
export function directSets(selected: readonly KernelDirectRule[]): DirectSets {
  const out = { ipv4: { elements: new Set<string>(), sources: [] as string[] }, ipv6: { elements: new Set<string>(), sources: [] as string[] } };
  for (const rule of selected) {
    const seen = new Set<IpFamily>();
    for (const text of rule.networks) {
      // Texts are parseCidr's already (ruleNetworks); ipset masks host bits itself.
      const family: IpFamily = text.includes(':') ? 'ipv6' : 'ipv4';
      out[family].elements.add(text);
      seen.add(family);
    }
    const source = rule.file ?? `cidr of rule #${rule.index + 1}`;
    for (const family of seen) out[family].sources.push(source);
  }
  const merged = CidrSet.of(selected.flatMap((rule) => rule.networks)).intervalTexts();
  return {
    ipv4: { elements: [...out.ipv4.elements], intervals: merged.ipv4, sources: out.ipv4.sources },
    ipv6: { elements: [...out.ipv6.elements], intervals: merged.ipv6, sources: out.ipv6.sources },
  };
}

/** Reads a cidr_file the way the router does (same errors), keeping the entries as written. */
export function readCidrFile(file: string): string[] {
  const texts: string[] = [];
  addList(file, (text) => void texts.push(parseCidr(text).text));
  return texts;
}

/** The kernel direct sets of a config (reads the list files); a bad list is a ConfigError naming `file:line`. */
export function kernelDirectOf(config: Config): DirectSets {
  const { rules } = config.route;
  const read = (file: string) => {
    try {
      return readCidrFile(file);
    } catch (err) {
      if (!(err instanceof ListError)) throw err;
      throw new ConfigError([{ path: `route.rules.${rules.findIndex((rule) => rule.cidr_file === file)}.cidr_file`, message: err.message }]);
    }
  };
  return directSets(selectKernelDirect(rules, read));
}
