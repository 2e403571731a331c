import type { CidrSet } from './cidr-set.js';
import type { Matcher, MatchInput } from './matcher.js';

/** The client's address is in one of the rule's prefixes (router mode: which LAN host). */
export class SourceMatcher implements Matcher {
  constructor(
    private readonly set: CidrSet,
    private readonly text: string,
  ) {}

  matches(input: MatchInput): boolean {
    return input.srcIn(this.set);
  }

  toString(): string {
    return this.text;
  }
}
