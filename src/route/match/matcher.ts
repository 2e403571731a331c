import type { SocksAddr } from '../../core/addr.js';
import type { InboundKind } from '../../core/flow.js';

/** What a rule can look at: the flow, and the name it is known to be for (fake-IP, DNS answer, sniffed). */
export interface RouteQuery {
  readonly network: 'tcp' | 'udp';
  readonly inbound: InboundKind;
  readonly src: SocksAddr;
  readonly dst: SocksAddr;
  /** The destination's domain name, when one is known. */
  readonly host?: string;
}

/** One condition of a rule; `toString` is the text form logs and `route explain` show (`port=[25,6881-6889]`). */
export interface Matcher {
  matches(query: RouteQuery): boolean;
  toString(): string;
  /** Whether it looks at the domain name: the router waits for one (sniffing) only for rules that do. */
  readonly needsHost?: boolean;
}

/** `key=[a,b,c]`, or `key=[a,b,c,…] (N entries)` for a long list. */
export function listText(key: string, values: readonly (string | number)[]): string {
  const shown = values.slice(0, 8).join(',');
  return values.length > 8 ? `${key}=[${shown},…] (${values.length} entries)` : `${key}=[${shown}]`;
}
