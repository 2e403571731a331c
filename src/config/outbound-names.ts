import { ROUTE_ACTIONS } from './route-schema.js';

/** A name another entry refers to, with the key path of the reference. */
export interface NameRef {
  readonly name: string;
  readonly path: string;
}

/**
 * One named outbound of the config (an upstream, a group, a chain): upstreams, groups and chains
 * share one namespace, and an entry may refer to any other (a group's members, a chain's hops).
 */
export interface NamedEntry {
  readonly name: string;
  /** Key path of the entry's name, for errors. */
  readonly path: string;
  readonly refs: readonly NameRef[];
}

export interface NameIssue {
  readonly path: string;
  readonly message: string;
}

/** Duplicate or reserved names, references to unknown names, and reference cycles, each naming its key path. */
export function namespaceIssues(entries: readonly NamedEntry[]): NameIssue[] {
  const issues: NameIssue[] = [];
  const byName = new Map<string, NamedEntry>();
  for (const entry of entries) {
    if ((ROUTE_ACTIONS as readonly string[]).includes(entry.name)) issues.push({ path: entry.path, message: `"${entry.name}" is a route action, not a name for an upstream or group` });
    if (byName.has(entry.name)) issues.push({ path: entry.path, message: `"${entry.name}" names another upstream, group or chain already (${byName.get(entry.name)!.path})` });
    else byName.set(entry.name, entry);
  }
  for (const entry of entries) {
    for (const ref of entry.refs) {
      if (!byName.has(ref.name)) issues.push({ path: ref.path, message: unknownName(ref.name, byName.keys()) });
      else if (ref.name === entry.name) issues.push({ path: ref.path, message: `"${entry.name}" refers to itself` });
    }
  }
  if (issues.length === 0) issues.push(...cycleIssues(byName));
  return issues;
}

export function unknownName(name: string, known: Iterable<string>): string {
  return `no upstream, group or chain is named "${name}" (known: ${[...known].join(', ')})`;
}

/** One issue per reference that closes a cycle (a → b → a), at that reference's path. */
function cycleIssues(byName: ReadonlyMap<string, NamedEntry>): NameIssue[] {
  const issues: NameIssue[] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (entry: NamedEntry): void => {
    onPath.push(entry.name);
    for (const ref of entry.refs) {
      const at = onPath.indexOf(ref.name);
      if (at >= 0) issues.push({ path: ref.path, message: `"${ref.name}" makes a cycle: ${[...onPath.slice(at), ref.name].join(' → ')}` });
      else if (!done.has(ref.name)) visit(byName.get(ref.name)!);
    }
    onPath.pop();
    done.add(entry.name);
  };
  for (const entry of byName.values()) if (!done.has(entry.name)) visit(entry);
  return issues;
}

/** The entries' names, each after every name it refers to (the order to build them in). Entries must have no issues. */
export function dependencyOrder(entries: readonly NamedEntry[]): string[] {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (entry: NamedEntry): void => {
    if (placed.has(entry.name)) return;
    placed.add(entry.name);
    for (const ref of entry.refs) place(byName.get(ref.name)!);
    order.push(entry.name);
  };
  for (const entry of entries) place(entry);
  return order;
}

/**
 * What namedEntries reads of a config: the `upstreams` entries by their index (a chain with its
 * hops), and the groups.
 */
export interface NamedOutbounds {
  readonly upstreams: readonly { readonly name: string; readonly chain?: readonly string[] }[];
  readonly groups: readonly { readonly name: string; readonly members: readonly string[] }[];
}

/** Every named outbound of a config with its references, in config order: upstreams (and chains), then groups. */
export function namedEntries(config: NamedOutbounds): NamedEntry[] {
  return [
    ...config.upstreams.map((u, i) => ({ name: u.name, path: `upstreams.${i}.name`, refs: (u.chain ?? []).map((name, j) => ({ name, path: `upstreams.${i}.chain.${j}` })) })),
    ...config.groups.map((g, i) => ({ name: g.name, path: `groups.${i}.name`, refs: g.members.map((name, j) => ({ name, path: `groups.${i}.members.${j}` })) })),
  ];
}

/** A validated config's named outbounds (chains apart from the upstreams with a URL) as namedEntries reads them. */
export function configOutbounds(config: { readonly upstreams: readonly { readonly name: string }[]; readonly chains: readonly { readonly name: string; readonly hops: readonly string[] }[]; readonly groups: NamedOutbounds['groups'] }): NamedOutbounds {
  return { upstreams: [...config.upstreams, ...config.chains.map((c) => ({ name: c.name, chain: c.hops }))], groups: config.groups };
}
