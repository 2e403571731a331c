import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type OptAnswer, type Packet, type Question } from 'dns-packet';
import fc from 'fast-check';
import { CodecError } from '../../../src/core/need-more.js';
import { parseClientQuery, type ClientQuery } from '../../../src/dns/message.js';
import { readWireAnswer, sameQuestion, questionEnd } from '../../../src/dns/wire-answer.js';
import { wireResponse } from '../../../src/dns/wire-response.js';
import { compressedAResponse } from '../../helpers/dns-wire.js';

const Q: Question = { name: 'web.lab.test', type: 'A', class: 'IN' };
const response = (fields: Partial<Packet>) => dnsPacket.encode({ id: 99, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [Q], ...fields });
const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 4096, flags: 0, options: [{ code: 10, data: Buffer.alloc(8, 7) }] };
const glue = { type: 'A' as const, name: 'ns.lab.test', ttl: 50, data: '192.0.2.53' };

function clientQuery(name: string, fields: Partial<Packet> = {}): { raw: Buffer; query: ClientQuery } {
  const raw = dnsPacket.encode({ id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ ...Q, name }], ...fields });
  const parsed = parseClientQuery(raw);
  assert.ok(parsed.ok);
  return { raw, query: parsed.query };
}

test('an upstream answer keeps its bytes; its OPT (and what follows it) goes, ARCOUNT says what is left', () => {
  const raw = response({ answers: [{ type: 'A', name: Q.name, ttl: 300, data: '192.0.2.1' }, { type: 'A', name: Q.name, ttl: 60, data: '192.0.2.2' }], additionals: [glue, opt, glue] });
  const answer = readWireAnswer(raw);
  const decoded = dnsPacket.decode(answer.message);
  assert.deepEqual(decoded.additionals!.map((a) => a.type), ['A']);
  assert.deepEqual(answer.message.subarray(12, answer.message.length), raw.subarray(12, answer.message.length), 'the records are the upstream bytes');
  assert.equal(answer.rcode, 'NOERROR');
  assert.equal(answer.minAnswerTtl, 60);
  assert.equal(answer.ttlOffsets.length, 3);
  assert.equal(answer.soaTtl, undefined);
  assert.equal(readWireAnswer(response({ flags: 3 })).rcode, 'NXDOMAIN');
});

test('lengths pointing outside the message, OPT outside the additional section and bad SOAs are CodecErrors', () => {
  const good = response({ answers: [{ type: 'A', name: Q.name, ttl: 300, data: '192.0.2.1' }] });
  const cases: [string, Buffer][] = [
    ['a record cut short', good.subarray(0, good.length - 1)],
    ['a count past the records', Buffer.concat([good.subarray(0, 6), Buffer.from([0, 2]), good.subarray(8)])],
    ['OPT in the answer section', response({ answers: [opt as never] })],
    ['two questions', dnsPacket.encode({ type: 'response', questions: [Q, Q] })],
    ['an SOA without its numbers', response({ authorities: [{ type: 'NULL' as never, name: 'lab.test', ttl: 1, data: Buffer.alloc(3) }] })],
  ];
  cases[4][1].writeUInt16BE(6, cases[4][1].length - 3 - 10); // the NULL record's TYPE becomes SOA
  for (const [what, buf] of cases) assert.throws(() => readWireAnswer(buf), CodecError, what);
});

test('any bytes: a layout whose offsets lie inside the message, or a CodecError', () => {
  const base = compressedAResponse(1, 'x.lab.test', 3);
  const mangled = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.nat()).map(([flips, cut]) => {
    const out = Buffer.from(base);
    for (const [at, value] of flips) out[at % out.length] = value;
    return out.subarray(0, cut % (out.length + 1));
  });
  fc.assert(
    fc.property(fc.oneof(mangled, fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a))), (buf) => {
      try {
        const answer = readWireAnswer(buf);
        for (const at of answer.ttlOffsets) assert.ok(at + 4 <= answer.message.length);
        const { raw, query } = clientQuery('x.lab.test', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 }] });
        assert.ok(wireResponse(query, raw, { wire: answer, ageS: 7 }, 1232).length <= 1232);
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
    }),
    { numRuns: 1000 },
  );
});

test("a response from it: the client's id, flags and letter case, TTLs less the answer's age, the client's EDNS0", () => {
  const answer = readWireAnswer(response({ answers: [{ type: 'A', name: Q.name, ttl: 300, data: '192.0.2.1' }], additionals: [glue, opt] }));
  const { raw, query } = clientQuery('WEB.Lab.test', { flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED, additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] });
  const out = dnsPacket.decode(wireResponse(query, raw, { wire: answer, ageS: 10 }, 65_535));
  assert.equal(out.id, 4242);
  assert.equal(out.flags! & 0x7fff, dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.CHECKING_DISABLED);
  assert.equal(out.questions![0].name, 'WEB.Lab.test');
  assert.deepEqual(out.answers!.map((a) => [a.type, (a as { ttl: number }).ttl]), [['A', 290]]);
  assert.deepEqual(out.additionals!.map((a) => a.type), ['A', 'OPT']);
  assert.equal((out.additionals![1] as OptAnswer).udpPayloadSize, 1232);

  const plain = clientQuery('web.lab.test');
  const old = dnsPacket.decode(wireResponse(plain.query, plain.raw, { wire: answer, ageS: 400 }, 512));
  assert.deepEqual(old.answers!.map((a) => (a as { ttl: number }).ttl), [0], 'never below 0');
  assert.deepEqual(old.additionals!.map((a) => a.type), ['A'], 'no OPT for a client without EDNS0');
});

test('an answer larger than the limit becomes the question alone with TC', () => {
  const answer = readWireAnswer(compressedAResponse(1, Q.name, 200));
  const { raw, query } = clientQuery(Q.name, { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 }] });
  const out = wireResponse(query, raw, { wire: answer, ageS: 0 }, 1232);
  const decoded = dnsPacket.decode(out);
  assert.equal(decoded.flag_tc, true);
  assert.equal(decoded.id, 4242);
  assert.deepEqual([decoded.questions!.length, decoded.answers!.length, decoded.authorities!.length], [1, 0, 0]);
  assert.deepEqual(decoded.additionals!.map((a) => a.type), ['OPT']);
  assert.equal(wireResponse(query, raw, { wire: answer, ageS: 0 }, 65_535).length, answer.message.length + 11, 'whole over TCP');
});

test('the same question but for letter case; another name, type or class is not', () => {
  const a = dnsPacket.encode({ type: 'query', questions: [Q] });
  const same = (q: Question) => {
    const b = dnsPacket.encode({ type: 'query', questions: [q] });
    return sameQuestion(a, questionEnd(a), b, questionEnd(b));
  };
  assert.ok(same({ ...Q, name: 'WEB.LAB.TEST' }));
  assert.ok(!same({ ...Q, name: 'web.lab.tesu' }));
  assert.ok(!same({ ...Q, name: 'web.lab.test.x' }));
  assert.ok(!same({ ...Q, type: 'AAAA' }));
  assert.ok(!same({ ...Q, class: 'CH' }));
});
