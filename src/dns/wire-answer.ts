/*
 * An upstream DNS response kept as the bytes the resolver sent (RFC 1035 §4.1), so that answering
 * from it is a copy and a few patches, never a decode and re-encode (which would also undo the
 * resolver's name compression and could outgrow a TCP frame):
 *
 *   +--------+-------+---------+---------+---------+---------+----------+------------+
 *   | ID u16 | flags | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT | question | RRs ...    |
 *   +--------+-------+---------+---------+---------+---------+----------+------------+
 *   question: NAME | TYPE u16 | CLASS u16
 *   RR:       NAME | TYPE u16 | CLASS u16 | TTL u32 | RDLENGTH u16 | RDATA
 *   NAME:     labels (length byte 1..63, then the bytes), ending in a 0 byte or a 2-byte pointer (0b11…)
 *
 * Only the structure is checked (every length inside the message); RDATA is the resolver's business
 * and reaches the client as it came.
 */
import { DNS_HEADER_BYTES, DNS_TCP_MAX_MESSAGE } from '../codec/dns-tcp-frame.js';
import { CodecError } from '../core/need-more.js';
import { rcodeName } from './message.js';

const TYPE_SOA = 6;
const TYPE_OPT = 41;
/** SOA RDATA after its two names: SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM (RFC 1035 §3.3.13). */
const SOA_FIXED_BYTES = 20;

export interface WireAnswer {
  readonly rcode: string;
  /**
   * The response as received, ending before its OPT record (the EDNS0 of our hop: the client gets
   * its own) and with ARCOUNT counting what is left. Never written to: each client gets a copy.
   */
  readonly message: Buffer;
  /** Where the question ends and the records begin. */
  readonly questionEnd: number;
  /** Offset of every record's TTL, to count them down in a copy (a message is at most 65,535 bytes). */
  readonly ttlOffsets: Uint16Array;
  /** Shortest TTL in the answer section; undefined when it holds no record. */
  readonly minAnswerTtl: number | undefined;
  /** min(TTL, MINIMUM) of the first SOA in the authority section (RFC 2308 §5); undefined without one. */
  readonly soaTtl: number | undefined;
}

/** An answer as handed out: its bytes, and the seconds it has been cached (its TTLs count down by that). */
export interface AgedAnswer {
  readonly wire: WireAnswer;
  readonly ageS: number;
}

function malformed(message: string): CodecError {
  return new CodecError('DNS_MALFORMED', message);
}

/** The offset after the name at `at`; a pointer ends it (it is not followed: the client does that). */
export function skipName(buf: Buffer, at: number): number {
  let bytes = 0;
  for (;;) {
    if (at >= buf.length) throw malformed('a name runs past the end of the message');
    const len = buf[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) {
      if (at + 2 > buf.length) throw malformed('a name pointer runs past the end of the message');
      return at + 2;
    }
    if (len & 0xc0) throw malformed(`unknown label type 0x${len.toString(16)}`);
    bytes += 1 + len;
    if (bytes > 255) throw malformed('a name longer than 255 bytes');
    at += 1 + len;
  }
}

/** The offset after the only question of `buf` (QDCOUNT must be 1). */
export function questionEnd(buf: Buffer): number {
  if (buf.length < DNS_HEADER_BYTES) throw malformed('shorter than a DNS header');
  if (buf.readUInt16BE(4) !== 1) throw malformed(`${buf.readUInt16BE(4)} questions`);
  const end = skipName(buf, DNS_HEADER_BYTES) + 4;
  if (end > buf.length) throw malformed('the question runs past the end of the message');
  return end;
}

const lower = (byte: number) => (byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte);

/**
 * Whether two messages ask the same question: the name equal but for ASCII case (RFC 4343; length
 * bytes are at most 63, so never letters), type and class equal. Both questions must end at the
 * given offsets (from questionEnd).
 */
export function sameQuestion(a: Buffer, aEnd: number, b: Buffer, bEnd: number): boolean {
  if (aEnd !== bEnd) return false;
  const nameEnd = aEnd - 4;
  for (let i = DNS_HEADER_BYTES; i < nameEnd; i++) if (lower(a[i]) !== lower(b[i])) return false;
  return a.readUInt32BE(nameEnd) === b.readUInt32BE(nameEnd);
}

/** MINIMUM of the SOA whose RDATA spans [start, end), checking that the two names leave exactly 20 bytes. */
function soaMinimum(buf: Buffer, start: number, end: number): number {
  const fixed = skipName(buf, skipName(buf, start));
  if (fixed + SOA_FIXED_BYTES !== end) throw malformed('an SOA record of the wrong length');
  return buf.readUInt32BE(end - 4);
}

/** Reads a response's layout; throws CodecError when a length points outside it. */
export function readWireAnswer(raw: Buffer): WireAnswer {
  if (raw.length > DNS_TCP_MAX_MESSAGE) throw malformed('longer than any DNS message');
  const qEnd = questionEnd(raw);
  const counts = [raw.readUInt16BE(6), raw.readUInt16BE(8), raw.readUInt16BE(10)];
  const ttlOffsets: number[] = [];
  let minAnswerTtl: number | undefined;
  let soaTtl: number | undefined;
  let at = qEnd;
  let additionalKept = counts[2];
  sections: for (let section = 0; section < 3; section++) {
    for (let i = 0; i < counts[section]; i++) {
      const start = at;
      const fields = skipName(raw, at);
      if (fields + 10 > raw.length) throw malformed('a record runs past the end of the message');
      const type = raw.readUInt16BE(fields);
      const ttl = raw.readUInt32BE(fields + 4);
      const rdata = fields + 10;
      at = rdata + raw.readUInt16BE(fields + 8);
      if (at > raw.length) throw malformed('record data runs past the end of the message');
      if (type === TYPE_OPT) {
        if (section !== 2) throw malformed('an OPT record outside the additional section');
        // Pointers only point back, so cutting here breaks none before; what follows is optional.
        at = start;
        additionalKept = i;
        break sections;
      }
      ttlOffsets.push(fields + 4);
      if (section === 0) minAnswerTtl = Math.min(minAnswerTtl ?? ttl, ttl);
      if (section === 1 && type === TYPE_SOA && soaTtl === undefined) soaTtl = Math.min(ttl, soaMinimum(raw, rdata, at));
    }
  }
  const message = Buffer.from(raw.subarray(0, at));
  message.writeUInt16BE(additionalKept, 10);
  return { rcode: rcodeName(raw[3] & 0x0f), message, questionEnd: qEnd, ttlOffsets: Uint16Array.from(ttlOffsets), minAnswerTtl, soaTtl };
}

/** Records in the answer section. */
export function answerCount(answer: WireAnswer): number {
  return answer.message.readUInt16BE(6);
}
