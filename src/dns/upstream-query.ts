import { randomInt } from 'node:crypto';
import dnsPacket, { type Question } from 'dns-packet';
import { ErrorCode, SgError } from '../core/errors.js';
import { questionEnd, readWireAnswer, sameQuestion, type WireAnswer } from './wire-answer.js';

/** A fresh, unpredictable query id (RFC 5452: ids are half of what stops off-path spoofing). */
export function randomQueryId(): number {
  return randomInt(0, 0x10000);
}

/**
 * Queries one upstream connection or association has out at most: far below the 65,536 ids, so a
 * free id is found at once, and a resolver that stops answering holds a bounded amount of memory.
 */
export const MAX_PENDING_QUERIES = 1024;

/**
 * A random id not in `pending`; SG_ERR_DNS_BUSY when MAX_PENDING_QUERIES are already out (the
 * resolver then moves on). The probe from a random start ends within `pending.size` steps.
 */
export function freeQueryId(pending: ReadonlyMap<number, unknown>): number {
  if (pending.size >= MAX_PENDING_QUERIES) {
    throw new SgError(ErrorCode.DNS_BUSY, `${MAX_PENDING_QUERIES} DNS queries already wait for this resolver's answers`);
  }
  let id = randomQueryId();
  while (pending.has(id)) id = (id + 1) & 0xffff;
  return id;
}

/** What we send a real resolver: one question, recursion desired, EDNS0 so big answers fit. */
export function buildUpstreamQuery(id: number, question: Question): Buffer {
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [question],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] }],
  });
}

/**
 * `raw` in wire form if it answers exactly the query we sent (`sent`: same id, QR set, the same
 * single question but for letter case), else undefined: anything else, malformed answers included,
 * is noise or spoofing and is ignored, never cached.
 */
export function matchUpstreamResponse(raw: Buffer, sent: Buffer): WireAnswer | undefined {
  if (raw.length < 12 || raw.readUInt16BE(0) !== sent.readUInt16BE(0) || (raw[2] & 0x80) === 0) return undefined;
  let answer: WireAnswer;
  try {
    answer = readWireAnswer(raw);
  } catch {
    return undefined;
  }
  return sameQuestion(answer.message, answer.questionEnd, sent, questionEnd(sent)) ? answer : undefined;
}
