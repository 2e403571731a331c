import type { CidrSet } from './cidr-set.js';
import type { Matcher, RouteQuery } from './matcher.js';

/** The client's address is in one of the rule's prefixes (router mode: which LAN host). */
export class SourceMatcher implements Matcher {
  constructor(
    private readonly set: CidrSet,
    private readonly text: string,
  ) {}

  matches(query: RouteQuery): boolean {
    return query.src.kind !== 'domain' && this.set.has(query.src.host);
  }

  toString(): string {
    return this.text;
  }
}
