import type { Matcher, RouteQuery } from './matcher.js';

/** TCP or UDP. */
export class NetworkMatcher implements Matcher {
  constructor(private readonly network: 'tcp' | 'udp') {}

  matches(query: RouteQuery): boolean {
    return query.network === this.network;
  }

  toString(): string {
    return `network=${this.network}`;
  }
}
