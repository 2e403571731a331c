import type { DomainSet } from './domain-set.js';
import type { Matcher, RouteQuery } from './matcher.js';

/** The flow's name matches (`domain`, `domain_suffix`, `domain_keyword`, `domain_file`); no name, no match. */
export class DomainMatcher implements Matcher {
  readonly needsHost = true;

  constructor(
    private readonly set: DomainSet,
    private readonly text: string,
  ) {}

  matches(query: RouteQuery): boolean {
    const host = query.host ?? (query.dst.kind === 'domain' ? query.dst.host : undefined);
    return host !== undefined && this.set.has(host);
  }

  toString(): string {
    return this.text;
  }
}
