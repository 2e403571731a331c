import { listText, type Matcher, type MatchInput } from './matcher.js';

/** The user a client of the SOCKS/HTTP proxy inbound logged in as; a flow with no user never matches. */
export class UserMatcher implements Matcher {
  private readonly users: ReadonlySet<string>;

  constructor(private readonly names: readonly string[]) {
    this.users = new Set(names);
  }

  matches(input: MatchInput): boolean {
    const { user } = input.query;
    return user !== undefined && this.users.has(user);
  }

  toString(): string {
    return listText('user', this.names);
  }
}
