import type { Question } from 'dns-packet';
import { errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { DnsCache } from './cache.js';
import { errorResult, questionKey, type DnsResult } from './message.js';
import type { DnsChoice, ResolverSet, SplitDns } from './split-dns.js';
import type { DnsTransport } from './transport.js';
import type { AgedAnswer } from './wire-answer.js';

export interface ResolverOptions {
  /** Deadline for one attempt at one resolver. */
  readonly timeoutMs: number;
  /** Each attempt at a resolver, timed (metrics); absent: not watched. */
  readonly onAttempt?: (resolver: string, seconds: number, outcome: 'answer' | 'failure') => void;
}

// Answers that say "this resolver could not help", not "the name is like this": try the next one.
const RESOLVER_FAILURES = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR']);

/**
 * Answers questions from the cache or the real resolvers of the name's set (split DNS), in order:
 * each attempt has a deadline, a failure moves on to the next resolver, and SERVFAIL comes only
 * when every one failed. Identical questions asked while one is out share its answer, so a burst
 * costs one upstream query. A name the rules reject is answered NXDOMAIN, uncached: deciding that
 * again costs less than a cache lookup.
 */
export class Resolver {
  private readonly inFlight = new Map<string, Promise<AgedAnswer | DnsResult>>();
  /** Questions sent upstream (for tests and status). */
  upstreamQueries = 0;
  /** Questions asked of the resolver, and those the cache answered (metrics read these). */
  queries = 0;
  cacheHits = 0;
  /** Questions answered NXDOMAIN because dns.rules reject the name. */
  rejected = 0;

  constructor(
    private readonly split: SplitDns,
    private readonly cache: DnsCache,
    private readonly opts: ResolverOptions,
    private readonly log: Logger,
  ) {}

  /** Who answers `name` (see SplitDns). */
  choose(name: string): DnsChoice {
    return this.split.choose(name);
  }

  /**
   * The upstream's answer (as it sent it, aged by its time in the cache), or SERVFAIL when every
   * resolver failed, or NXDOMAIN when rejected. `resolvers`: the name's own choice unless given.
   */
  resolve(question: Question, resolvers: ResolverSet | 'reject' = this.choose(question.name).resolvers): Promise<AgedAnswer | DnsResult> {
    this.queries++;
    if (resolvers === 'reject') {
      this.rejected++;
      return Promise.resolve(errorResult('NXDOMAIN'));
    }
    const key = resolvers.id === 0 ? questionKey(question) : `${resolvers.id}#${questionKey(question)}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cacheHits++;
      return Promise.resolve(cached);
    }
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    const asked = this.ask(question, resolvers.transports).then((result) => {
      if ('wire' in result) this.cache.set(key, result.wire);
      return result;
    });
    this.inFlight.set(key, asked);
    void asked.finally(() => this.inFlight.delete(key));
    return asked;
  }

  close(): void {
    for (const set of this.split.sets) for (const transport of set.transports) transport.close();
  }

  private async ask(question: Question, transports: readonly DnsTransport[]): Promise<AgedAnswer | DnsResult> {
    for (const transport of transports) {
      const startedAt = Date.now();
      this.upstreamQueries++;
      // Not AbortSignal.timeout(): its timer is unref'd, and a pending query must keep its deadline.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), this.opts.timeoutMs);
      try {
        const result = await transport.exchange(question, deadline.signal);
        this.opts.onAttempt?.(transport.name, (Date.now() - startedAt) / 1000, RESOLVER_FAILURES.has(result.rcode) ? 'failure' : 'answer');
        if (!RESOLVER_FAILURES.has(result.rcode)) return { wire: result, ageS: 0 };
        this.log.warn({ resolver: transport.name, qname: question.name, qtype: question.type, rcode: result.rcode }, 'resolver failed the query, trying the next');
      } catch (err) {
        this.opts.onAttempt?.(transport.name, (Date.now() - startedAt) / 1000, 'failure');
        this.log.warn(
          { resolver: transport.name, qname: question.name, qtype: question.type, reason: errorCode(err), ms: Date.now() - startedAt },
          `resolver did not answer: ${errorMessage(err)}`,
        );
      } finally {
        clearTimeout(timer);
      }
    }
    return errorResult('SERVFAIL');
  }
}
