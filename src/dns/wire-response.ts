/*
 * A client's response made from a cached upstream answer (wire-answer.ts) by copying its bytes and
 * patching them, so a hit costs a copy however many records it holds:
 *
 *   header: the client's ID; flags QR, RD and CD as the client set them, RA, the resolver's RCODE
 *           byte 2: QR(0x80) OPCODE(0x78) AA(0x04) TC(0x02) RD(0x01)
 *           byte 3: RA(0x80) Z(0x40) AD(0x20) CD(0x10) RCODE(0x0f)
 *   question: the client's own bytes (its letter case), when they ask the cached question
 *   TTLs: each less the seconds the answer has been cached (never below 0)
 *   OPT (RFC 6891 §6.1.2), when the client sent one: root name, TYPE 41, CLASS = our UDP payload
 *           size, TTL 0 (no extended RCODE, version 0, no DO), no options
 */
import { DNS_HEADER_BYTES } from '../codec/dns-tcp-frame.js';
import { UDP_MAX_PAYLOAD, type ClientQuery } from './message.js';
import { questionEnd, sameQuestion, type AgedAnswer } from './wire-answer.js';

const OPT_BYTES = 11;
const TYPE_OPT = 41;

function writeOpt(out: Buffer, at: number): void {
  out[at] = 0;
  out.writeUInt16BE(TYPE_OPT, at + 1);
  out.writeUInt16BE(UDP_MAX_PAYLOAD, at + 3);
  out.writeUInt32BE(0, at + 5);
  out.writeUInt16BE(0, at + 9);
}

function writeHeader(out: Buffer, query: ClientQuery, rcode: number, truncated: boolean): void {
  out.writeUInt16BE(query.id, 0);
  out[2] = 0x80 | (truncated ? 0x02 : 0) | (query.rd ? 0x01 : 0);
  out[3] = 0x80 | (query.cd ? 0x10 : 0) | rcode;
}

/** Each TTL less `ageS`, never below 0 (a DataView: Buffer's checked accessors cost 10x on thousands of records). */
function countDown(out: Buffer, ttlOffsets: Uint16Array, ageS: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < ttlOffsets.length; i++) {
    const at = ttlOffsets[i];
    view.setUint32(at, Math.max(0, view.getUint32(at) - ageS));
  }
}

/** The client's question bytes in place of the cached ones, when both ask the same question. */
function echoQuestion(out: Buffer, qEnd: number, raw: Buffer): void {
  let rawEnd: number;
  try {
    rawEnd = questionEnd(raw);
  } catch {
    return;
  }
  if (sameQuestion(out, qEnd, raw, rawEnd)) raw.copy(out, DNS_HEADER_BYTES, DNS_HEADER_BYTES, qEnd);
}

/**
 * The response to the query `raw` (parsed as `query`) from `answer`, at most `limit` bytes: when
 * the whole answer does not fit, the question alone with TC set, so the client retries over TCP.
 */
export function wireResponse(query: ClientQuery, raw: Buffer, { wire, ageS }: AgedAnswer, limit: number): Buffer {
  const opt = query.ednsSize === undefined ? 0 : OPT_BYTES;
  const rcode = wire.message[3] & 0x0f;
  if (wire.message.length + opt > limit) {
    const out = Buffer.alloc(wire.questionEnd + opt);
    wire.message.copy(out, 0, 0, wire.questionEnd);
    writeHeader(out, query, rcode, true);
    out.writeUInt32BE(0, 6); // no answer or authority records
    out.writeUInt16BE(opt ? 1 : 0, 10);
    echoQuestion(out, wire.questionEnd, raw);
    if (opt) writeOpt(out, wire.questionEnd);
    return out;
  }
  const out = Buffer.allocUnsafe(wire.message.length + opt);
  wire.message.copy(out);
  writeHeader(out, query, rcode, false);
  echoQuestion(out, wire.questionEnd, raw);
  if (ageS > 0) countDown(out, wire.ttlOffsets, ageS);
  if (opt) {
    writeOpt(out, wire.message.length);
    out.writeUInt16BE(wire.message.readUInt16BE(10) + 1, 10);
  }
  return out;
}
