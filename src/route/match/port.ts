import type { Matcher, MatchInput } from './matcher.js';
import type { PortSet } from './port-set.js';

/** The destination port is one of the rule's ports or ranges. */
export class PortMatcher implements Matcher {
  constructor(
    private readonly set: PortSet,
    private readonly text: string,
  ) {}

  matches(input: MatchInput): boolean {
    return this.set.has(input.query.dst.port);
  }

  toString(): string {
    return this.text;
  }
}
