import type { Matcher, RouteQuery } from './matcher.js';
import type { PortSet } from './port-set.js';

/** The destination port is one of the rule's ports or ranges. */
export class PortMatcher implements Matcher {
  constructor(
    private readonly set: PortSet,
    private readonly text: string,
  ) {}

  matches(query: RouteQuery): boolean {
    return this.set.has(query.dst.port);
  }

  toString(): string {
    return this.text;
  }
}
