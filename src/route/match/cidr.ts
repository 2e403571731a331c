import type { CidrSet } from './cidr-set.js';
import type { Matcher, RouteQuery } from './matcher.js';

/** The destination address is in one of the rule's prefixes (`cidr`, `cidr_file`). */
export class CidrMatcher implements Matcher {
  constructor(
    private readonly set: CidrSet,
    private readonly text: string,
  ) {}

  matches(query: RouteQuery): boolean {
    return query.dst.kind !== 'domain' && this.set.has(query.dst.host);
  }

  toString(): string {
    return this.text;
  }
}
