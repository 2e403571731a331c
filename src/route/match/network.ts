import type { Matcher, MatchInput } from './matcher.js';

/** TCP or UDP. */
export class NetworkMatcher implements Matcher {
  constructor(private readonly network: 'tcp' | 'udp') {}

  matches(input: MatchInput): boolean {
    return input.query.network === this.network;
  }

  toString(): string {
    return `network=${this.network}`;
  }
}
