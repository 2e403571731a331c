/** How a name is listed: exactly, and/or with every name under it. */
const EXACT = 1;
const SUFFIX = 2;

/**
 * Domain names to match a flow's name against: exact names, suffixes (a name and every name
 * under it) and keywords (a substring anywhere). Exact names and suffixes share one hash table, so
 * a lookup is one probe per label of the flow's name, whatever the size of the lists.
 */
export class DomainSet {
  private readonly names = new Map<string, number>();
  private suffixCount = 0;
  private readonly keywords: string[] = [];

  get size(): number {
    return this.names.size + this.keywords.length;
  }

  addExact(name: string): void {
    this.list(normalize(name), EXACT);
  }

  /** `example.com` matches example.com and every name under it, never `badexample.com`. */
  addSuffix(name: string): void {
    const normal = normalize(name);
    this.list(normal.startsWith('.') ? normal.slice(1) : normal, SUFFIX);
    this.suffixCount++;
  }

  addKeyword(text: string): void {
    this.keywords.push(text.toLowerCase());
  }

  has(host: string): boolean {
    return this.hasSuffixes(suffixesOf(host));
  }

  /**
   * `names` is what suffixesOf made of the flow's name: one decision makes it once for every set,
   * so each of its strings is hashed once however many sets look it up.
   */
  hasSuffixes(names: readonly string[]): boolean {
    const name = names[0];
    if (this.names.has(name)) return true;
    if (this.suffixCount > 0) for (let i = 1; i < names.length; i++) if ((this.names.get(names[i]) ?? 0) & SUFFIX) return true;
    for (let i = 0; i < this.keywords.length; i++) if (name.includes(this.keywords[i])) return true;
    return false;
  }

  private list(name: string, how: number): void {
    this.names.set(name, (this.names.get(name) ?? 0) | how);
  }
}

/** The name as DNS compares it (lower case, no root dot), then each parent: a.b.example, b.example, example. */
export function suffixesOf(host: string): string[] {
  const name = normalize(host);
  const names = [name];
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) names.push(name.slice(dot + 1));
  return names;
}

/** Lower case without the root's trailing dot: names compare as DNS compares them. */
function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
