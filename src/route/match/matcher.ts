import type { SocksAddr } from '../../core/addr.js';
import type { InboundKind } from '../../core/flow.js';
import type { CidrSet } from './cidr-set.js';
import { suffixesOf, type DomainSet } from './domain-set.js';
import { ipKey, NOT_IP } from './ip-words.js';

/** What a rule can look at: the flow, and the name it is known to be for (fake-IP, DNS answer, sniffed). */
export interface RouteQuery {
  readonly network: 'tcp' | 'udp';
  readonly inbound: InboundKind;
  readonly src: SocksAddr;
  readonly dst: SocksAddr;
  /** The destination's domain name, when one is known. */
  readonly host?: string;
  /** The user the client logged in as (SOCKS/HTTP proxy inbound), when it did. */
  readonly user?: string;
}

const UNPARSED = -3;

/**
 * One decision's query as matchers read it: each address is parsed, and the name lower-cased and
 * cut into its suffixes, at most once, however many rules look at them. A route reuses one
 * (deciding is synchronous), so a decision allocates nothing for its addresses.
 */
export class MatchInput {
  query!: RouteQuery;
  private dstKey = UNPARSED;
  private readonly dstWords = new Uint32Array(4);
  private srcKey = UNPARSED;
  private readonly srcWords = new Uint32Array(4);
  /** The name and each parent (a.b.example, b.example, example); null: not looked at yet, []: no name. */
  private names: readonly string[] | null = null;

  reset(query: RouteQuery): this {
    this.query = query;
    this.dstKey = UNPARSED;
    this.srcKey = UNPARSED;
    this.names = null;
    return this;
  }

  /** Whether the destination address is in `set` (a destination given by name never is). */
  dstIn(set: CidrSet): boolean {
    if (this.dstKey === UNPARSED) this.dstKey = this.query.dst.kind === 'domain' ? NOT_IP : ipKey(this.query.dst.host, this.dstWords);
    return set.hasKey(this.dstKey, this.dstWords);
  }

  srcIn(set: CidrSet): boolean {
    if (this.srcKey === UNPARSED) this.srcKey = this.query.src.kind === 'domain' ? NOT_IP : ipKey(this.query.src.host, this.srcWords);
    return set.hasKey(this.srcKey, this.srcWords);
  }

  /** Whether the flow's name (the known one, else a destination given by name) is in `set`; no name, no match. */
  nameIn(set: DomainSet): boolean {
    if (this.names === null) {
      const { host, dst } = this.query;
      const name = host ?? (dst.kind === 'domain' ? dst.host : undefined);
      this.names = name === undefined ? [] : suffixesOf(name);
    }
    return this.names.length > 0 && set.hasSuffixes(this.names);
  }
}

/** One condition of a rule; `toString` is the text form logs and `route explain` show (`port=[25,6881-6889]`). */
export interface Matcher {
  matches(input: MatchInput): boolean;
  toString(): string;
  /** Whether it looks at the domain name: the router waits for one (sniffing) only for rules that do. */
  readonly needsHost?: boolean;
}

/** `key=[a,b,c]`, or `key=[a,b,c,…] (N entries)` for a long list. */
export function listText(key: string, values: readonly (string | number)[]): string {
  const shown = values.slice(0, 8).join(',');
  return values.length > 8 ? `${key}=[${shown},…] (${values.length} entries)` : `${key}=[${shown}]`;
}
