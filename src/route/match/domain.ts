import type { DomainSet } from './domain-set.js';
import type { Matcher, MatchInput } from './matcher.js';

/** The flow's name matches (`domain`, `domain_suffix`, `domain_keyword`, `domain_file`); no name, no match. */
export class DomainMatcher implements Matcher {
  readonly needsHost = true;

  constructor(
    private readonly set: DomainSet,
    private readonly text: string,
  ) {}

  matches(input: MatchInput): boolean {
    return input.nameIn(this.set);
  }

  toString(): string {
    return this.text;
  }
}
