import type { InboundKind } from '../../core/flow.js';
import { listText, type Matcher, type MatchInput } from './matcher.js';

/** Which inbound recovered the flow (redirect, tproxy, dns, socks). */
export class InboundMatcher implements Matcher {
  constructor(private readonly inbounds: readonly InboundKind[]) {}

  matches(input: MatchInput): boolean {
    return this.inbounds.includes(input.query.inbound);
  }

  toString(): string {
    return listText('inbound', this.inbounds);
  }
}
