import type { Question, RecordAnswer } from 'dns-packet';
import type { SocksAddr } from '../core/addr.js';
import type { Logger } from '../core/log.js';
import { RateLimitedWarning } from '../core/rate-limited-warning.js';
import type { FakeIpPool } from './fake-ip-pool.js';
import { errorResult, normalizeName, type DnsResult } from './message.js';
import { addressOfReverseName } from './reverse-name.js';

/** Names refused for want of a free address are logged at most this often (`refused` counts them all). */
const REFUSED_LOG_MS = 10_000;

export interface FakeIpOptions {
  /** At most one pool per family. */
  readonly pools: readonly FakeIpPool[];
  readonly ttlS: number;
  /** Domain suffixes resolved normally (e.g. local names). */
  readonly exclude: readonly string[];
  /** Whether a client (by address) gets real answers, as if fake-IP were off (dns.fake_ip.exclude_sources). */
  readonly excludeSource?: (address: string) => boolean;
  /** Called after a new mapping, so it can be saved. */
  readonly onChange?: () => void;
  readonly log: Logger;
  /** For the log rate limit; milliseconds. */
  readonly now?: () => number;
}

/**
 * Fake-IP mode: A/AAAA questions are answered with pool addresses standing for the name, so the
 * flow that follows can be sent upstream by name. Everything else is left to the real resolver.
 */
export class FakeIp {
  private readonly v4: FakeIpPool | undefined;
  private readonly v6: FakeIpPool | undefined;
  private readonly exclude: readonly string[];
  private readonly refusedWarning: RateLimitedWarning;
  /** A/AAAA questions answered SERVFAIL because the pool had no address it could give. */
  refused = 0;

  constructor(private readonly opts: FakeIpOptions) {
    this.v4 = opts.pools.find((p) => p.cidr.family === 4);
    this.v6 = opts.pools.find((p) => p.cidr.family === 6);
    this.exclude = opts.exclude.map(normalizeName);
    this.refusedWarning = new RateLimitedWarning(REFUSED_LOG_MS, opts.now);
  }

  isExcluded(name: string): boolean {
    const n = normalizeName(name);
    return this.exclude.some((suffix) => n === suffix || n.endsWith(`.${suffix}`));
  }

  /** The answer from the pool, or undefined when the question (of `client`, an address) goes to the real resolver. */
  answer(question: Question, client?: string): DnsResult | undefined {
    if ((question.class ?? 'IN') !== 'IN') return undefined;
    if (client !== undefined && this.opts.excludeSource?.(client)) return undefined;
    if (question.type === 'PTR') return this.reverse(question);
    if (question.type !== 'A' && question.type !== 'AAAA') return undefined;
    const name = normalizeName(question.name);
    if (name === '' || this.isExcluded(name)) return undefined;
    const pool = question.type === 'A' ? this.v4 : this.v6;
    // No pool for this family: "no such record" (NODATA) makes the application use the other one.
    if (!pool) return { rcode: 'NOERROR', answers: [], authorities: [], additionals: [] };
    const given = pool.addressFor(name);
    if (given === undefined) return this.refuse(pool, name);
    const { address, created } = given;
    if (created) this.opts.onChange?.();
    const record: RecordAnswer = { type: question.type, name: question.name, class: 'IN', ttl: this.opts.ttlS, data: address };
    return { rcode: 'NOERROR', answers: [record], authorities: [], additionals: [] };
  }

  /** The name behind a pool address, or undefined when the address is outside every pool. */
  nameOf(address: string): { name: string | undefined } | undefined {
    const pool = [this.v4, this.v6].find((p) => p?.contains(address));
    return pool && { name: pool.nameOf(address) };
  }

  /**
   * The fake-IP hook of the TCP session: a pool address becomes its name, a pool address nobody
   * holds is refused (undefined), any other destination passes unchanged.
   */
  mapDestination(dst: SocksAddr): SocksAddr | undefined {
    if (dst.kind === 'domain') return dst;
    const found = this.nameOf(dst.host);
    if (!found) return dst;
    return found.name === undefined ? undefined : { kind: 'domain', host: found.name, port: dst.port };
  }

  /** A live flow to `address` keeps its name (see FakeIpPool.hold); false: not a mapped pool address. */
  hold(address: string): boolean {
    return this.v4?.hold(address) === true || this.v6?.hold(address) === true;
  }

  release(address: string): void {
    this.v4?.release(address);
    this.v6?.release(address);
  }

  /** Never an address someone may still use for another name: the application gets an error instead. */
  private refuse(pool: FakeIpPool, name: string): DnsResult {
    this.refused++;
    this.refusedWarning.maybe((suppressed) => {
      const fields = { qname: name, range: pool.cidr.text, capacity: pool.capacity, refused: this.refused, suppressed };
      this.opts.log.warn(fields, `fake-IP range ${pool.cidr.text} has no address for ${name}: every one is held by a flow or was used within dns.fake_ip.reuse_after_s; answered SERVFAIL`);
    });
    return errorResult('SERVFAIL');
  }

  private reverse(question: Question): DnsResult | undefined {
    const address = addressOfReverseName(question.name);
    const found = address === undefined ? undefined : this.nameOf(address);
    if (!found) return undefined;
    if (found.name === undefined) return { rcode: 'NXDOMAIN', answers: [], authorities: [], additionals: [] };
    const record: RecordAnswer = { type: 'PTR', name: question.name, class: 'IN', ttl: this.opts.ttlS, data: found.name };
    return { rcode: 'NOERROR', answers: [record], authorities: [], additionals: [] };
  }
}
