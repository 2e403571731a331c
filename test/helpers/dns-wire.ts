/**
 * DNS responses written byte by byte, compressed the way real resolvers send them (dns-packet
 * encodes without name compression): every answer's owner name is a pointer to the question.
 */
import dnsPacket, { type Packet, type Question, type RecordAnswer } from 'dns-packet';
import { readWireAnswer, type WireAnswer } from '../../src/dns/wire-answer.js';

/** Bytes of one A record whose name points at the question (offset 12): pointer, type, class, TTL, length, address. */
const COMPRESSED_A_BYTES = 2 + 2 + 2 + 4 + 2 + 4;

/** A NOERROR response to `id`/`name` carrying `count` A records (198.18.x.y), each 16 bytes. */
export function compressedAResponse(id: number, name: string, count: number, ttl = 300): Buffer {
  const head = dnsPacket.encode({ id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
  const out = Buffer.alloc(head.length + count * COMPRESSED_A_BYTES);
  head.copy(out);
  out.writeUInt16BE(count, 6);
  for (let i = 0, at = head.length; i < count; i++, at += COMPRESSED_A_BYTES) {
    out.writeUInt16BE(0xc00c, at);
    out.writeUInt16BE(1, at + 2); // A
    out.writeUInt16BE(1, at + 4); // IN
    out.writeUInt32BE(ttl, at + 6);
    out.writeUInt16BE(4, at + 10);
    out.set([198, 18, (i >> 8) & 0xff, i & 0xff], at + 12);
  }
  return out;
}

/** An upstream answer as a transport hands it over, from dns-packet's description of the response. */
export function wireAnswer(question: Question, fields: Partial<Packet> = {}): WireAnswer {
  return readWireAnswer(dnsPacket.encode({ id: 0, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [question], ...fields }));
}

/** The `data` of each answer record in a message (a response, or a WireAnswer's message). */
export function answerData(message: Buffer): unknown[] {
  return (dnsPacket.decode(message).answers ?? []).map((a) => (a as RecordAnswer).data);
}
