import { DNS_TCP_MAX_MESSAGE } from '../codec/dns-tcp-frame.js';
import { formatAddr } from '../core/addr.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { AnsweredNames } from './answered-names.js';
import type { FakeIp } from './fake-ip.js';
import { buildResponse, buildUdpResponse, errorResult, normalizeName, parseClientQuery, udpLimit, type DnsResult } from './message.js';
import type { Resolver } from './resolver.js';
import { answerCount, type AgedAnswer } from './wire-answer.js';
import { answerAddresses } from './wire-addresses.js';
import { wireResponse } from './wire-response.js';

export type DnsVia = 'udp' | 'tcp';

/** Who asked: the client's address as the listener saw it. */
export interface DnsPeer {
  readonly host: string;
  readonly port: number;
}

/** One client query in, one response (or deliberate silence) out; the listeners only move bytes. */
export class DnsHandler {
  constructor(
    private readonly resolver: Resolver,
    private readonly fakeIp: FakeIp | undefined,
    private readonly log: Logger,
    /** Told every real answer, so flows to its addresses are known by name; absent: not kept. */
    private readonly answered?: AnsweredNames,
  ) {}

  async handle(raw: Buffer, via: DnsVia, peer: DnsPeer): Promise<Buffer | undefined> {
    const from = formatAddr(peer);
    const parsed = parseClientQuery(raw);
    if (!parsed.ok) {
      this.log.debug({ via, from, reason: parsed.reason, bytes: raw.length }, parsed.reply ? 'malformed DNS query answered with an error' : 'DNS input dropped');
      return parsed.reply;
    }
    const { query } = parsed;
    // dns.rules first: a rejected name gets no pool address either.
    const choice = this.resolver.choose(query.question.name);
    let result: AgedAnswer | DnsResult;
    let rule = choice.rule;
    try {
      const fake = choice.resolvers === 'reject' ? undefined : this.fakeIp?.answer(query.question, peer.host);
      if (fake) rule = 'fake_ip';
      result = fake ?? (await this.resolver.resolve(query.question, choice.resolvers));
    } catch (err) {
      this.log.warn({ via, from, qname: query.question.name, qtype: query.question.type }, `DNS query failed: ${errorMessage(err)}`);
      result = errorResult('SERVFAIL');
    }
    const [rcode, answers] = 'wire' in result ? [result.wire.rcode, answerCount(result.wire)] : [result.rcode, result.answers.length];
    this.log.debug({ via, from, qname: query.question.name, qtype: query.question.type, rcode, answers, rule }, 'DNS query');
    // The resolver's own bytes, patched: never re-encoded, so what fit its TCP frame fits ours.
    if ('wire' in result) {
      if (this.answered && result.wire.rcode === 'NOERROR') this.remember(peer, query.question.name, result);
      return wireResponse(query, raw, result, via === 'udp' ? udpLimit(query) : DNS_TCP_MAX_MESSAGE);
    }
    try {
      return via === 'udp' ? buildUdpResponse(query, result) : buildResponse(query, result);
    } catch (err) {
      // A record dns-packet cannot encode: the client learns it failed, not garbage.
      this.log.warn({ via, from, qname: query.question.name, qtype: query.question.type }, `cannot encode DNS answer: ${errorMessage(err)}`);
      return buildResponse(query, errorResult('SERVFAIL'));
    }
  }

  private remember(peer: DnsPeer, name: string, { wire, ageS }: AgedAnswer): void {
    const addresses = answerAddresses(wire);
    if (addresses.length > 0) this.answered!.record(peer.host, normalizeName(name), addresses, (wire.minAnswerTtl ?? 0) - ageS);
  }
}
