import type { CidrSet } from './cidr-set.js';
import type { Matcher, MatchInput } from './matcher.js';

/** The destination address is in one of the rule's prefixes (`cidr`, `cidr_file`). */
export class CidrMatcher implements Matcher {
  constructor(
    private readonly set: CidrSet,
    private readonly text: string,
  ) {}

  matches(input: MatchInput): boolean {
    return input.dstIn(this.set);
  }

  toString(): string {
    return this.text;
  }
}
