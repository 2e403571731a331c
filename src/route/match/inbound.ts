import type { InboundKind } from '../../core/flow.js';
import { listText, type Matcher, type RouteQuery } from './matcher.js';

/** Which inbound recovered the flow (redirect, tproxy, dns). */
export class InboundMatcher implements Matcher {
  constructor(private readonly inbounds: readonly InboundKind[]) {}

  matches(query: RouteQuery): boolean {
    return this.inbounds.includes(query.inbound);
  }

  toString(): string {
    return listText('inbound', this.inbounds);
  }
}
