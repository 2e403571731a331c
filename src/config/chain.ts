/** An `upstreams` entry with `chain:`: a cascade through the outbounds its hops name, in order. */
export interface ChainConfig {
  readonly name: string;
  readonly hops: readonly string[];
}

/** A chain entry with where it sits in `upstreams`, for issue paths. */
export interface IndexedChain {
  readonly index: number;
  readonly chain: ChainConfig;
}

/**
 * Every hop names another upstream or chain, none names its own chain, and no chain reaches itself
 * through another one. `names` are the upstreams' (chains included).
 */
export function chainIssues(chains: readonly IndexedChain[], names: ReadonlySet<string>): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const byName = new Map(chains.map((c) => [c.chain.name, c.chain]));
  for (const { index, chain } of chains) {
    chain.hops.forEach((hop, i) => {
      const path = `upstreams.${index}.chain.${i}`;
      if (hop === chain.name) issues.push({ path, message: `a chain cannot be a hop of itself ("${hop}")` });
      else if (!names.has(hop)) issues.push({ path, message: `no upstream is named "${hop}" (known: ${[...names].join(', ')})` });
      else if (reaches(hop, chain.name, byName)) issues.push({ path, message: `"${hop}" leads back to the chain "${chain.name}": chains cannot loop` });
    });
  }
  return issues;
}

/** Whether `from`, followed through the hops of chains, reaches the chain `target`. */
function reaches(from: string, target: string, byName: ReadonlyMap<string, ChainConfig>, seen = new Set<string>()): boolean {
  if (from === target) return true;
  const chain = byName.get(from);
  if (chain === undefined || seen.has(from)) return false;
  seen.add(from);
  return chain.hops.some((hop) => reaches(hop, target, byName, seen));
}

/** The chains in an order where each comes after every chain it uses as a hop (no loops: chainIssues). */
export function chainsInDependencyOrder(chains: readonly ChainConfig[]): ChainConfig[] {
  const byName = new Map(chains.map((c) => [c.name, c]));
  const ordered: ChainConfig[] = [];
  const placed = new Set<string>();
  const place = (chain: ChainConfig): void => {
    if (placed.has(chain.name)) return;
    placed.add(chain.name);
    for (const hop of chain.hops) {
      const inner = byName.get(hop);
      if (inner) place(inner);
    }
    ordered.push(chain);
  };
  chains.forEach(place);
  return ordered;
}
