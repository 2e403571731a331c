import type { IpFamily } from '../core/cidr.js';
import type { FamilyPlan } from './plan.js';

/**
 * The iptables backend's kernel direct lists (kernel-direct.ts) as ipsets (`hash:net`, one per
 * family). socksgate owns exactly the sets named `<prefix>_DIRECT4`/`_DIRECT6` and their loading
 * copies `…_NEW` (never any other set that merely starts with the prefix). A load fills the copy,
 * then swaps it in, so the rules that match the set never see it half filled.
 */

const FAMILY: Record<IpFamily, string> = { ipv4: 'inet', ipv6: 'inet6' };
const SUFFIX: Record<IpFamily, string> = { ipv4: 'DIRECT4', ipv6: 'DIRECT6' };

export const ipsetName = (prefix: string, family: IpFamily) => `${prefix}_${SUFFIX[family]}`;
const loadingName = (prefix: string, family: IpFamily) => `${ipsetName(prefix, family)}_NEW`;

/** Every set name socksgate may have created under `prefix`. */
export function ownedIpsets(prefix: string): string[] {
  return (['ipv4', 'ipv6'] as const).flatMap((family) => [ipsetName(prefix, family), loadingName(prefix, family)]);
}

/** Room for every element: the kernel refuses adds beyond maxelem (65536 by default). */
function maxelem(count: number): number {
  let size = 65536;
  while (size < count) size *= 2;
  return size;
}

/**
 * `ipset restore` input loading `f.direct` into the family's set; `existing`: the set names
 * `ipset list -n` shows now. `summary`: what `rules print` shows, the elements counted.
 */
export function renderIpsetLoad(prefix: string, f: FamilyPlan, existing: readonly string[], summary = false): string {
  if (!f.direct) return '';
  const name = ipsetName(prefix, f.family);
  const loading = loadingName(prefix, f.family);
  const create = (set: string) => `create ${set} hash:net family ${FAMILY[f.family]} maxelem ${maxelem(f.direct!.elements.length)}`;
  const lines = existing.includes(loading) ? [`destroy ${loading}`] : [];
  lines.push(create(loading));
  if (summary) lines.push(`# add ${loading}: ${f.direct.elements.length} elements from ${f.direct.sources.join(', ')}`);
  else for (const element of f.direct.elements) lines.push(`add ${loading} ${element}`);
  if (!existing.includes(name)) lines.push(create(name));
  lines.push(`swap ${loading} ${name}`, `destroy ${loading}`);
  return `${lines.join('\n')}\n`;
}

/** Our sets in `existing` that `keep` does not name, to destroy once no rule matches them. */
export function staleIpsets(prefix: string, existing: readonly string[], keep: readonly string[]): string[] {
  return ownedIpsets(prefix).filter((name) => existing.includes(name) && !keep.includes(name));
}
