/**
 * Domain names to match a flow's name against: exact names, suffixes (a name and every name
 * under it) and keywords (a substring anywhere). Exact and suffix lookups are hash lookups, one
 * per label of the flow's name, whatever the size of the lists.
 */
export class DomainSet {
  private readonly exact = new Set<string>();
  private readonly suffixes = new Set<string>();
  private readonly keywords: string[] = [];

  get size(): number {
    return this.exact.size + this.suffixes.size + this.keywords.length;
  }

  addExact(name: string): void {
    this.exact.add(normalize(name));
  }

  /** `example.com` matches example.com and every name under it, never `badexample.com`. */
  addSuffix(name: string): void {
    this.suffixes.add(normalize(name).replace(/^\./, ''));
  }

  addKeyword(text: string): void {
    this.keywords.push(text.toLowerCase());
  }

  has(host: string): boolean {
    const name = normalize(host);
    if (this.exact.has(name)) return true;
    // The name itself, then each parent: a.b.example, b.example, example.
    for (let at = 0; this.suffixes.size > 0; ) {
      if (this.suffixes.has(at === 0 ? name : name.slice(at))) return true;
      const dot = name.indexOf('.', at);
      if (dot < 0) break;
      at = dot + 1;
    }
    for (const keyword of this.keywords) if (name.includes(keyword)) return true;
    return false;
  }
}

/** Lower case without the root's trailing dot: names compare as DNS compares them. */
function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
