import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type Packet } from 'dns-packet';
import { buildResponse, buildUdpResponse, isForwardableName, parseClientQuery, udpLimit, type ClientQuery } from '../../../src/dns/message.js';

function query(extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ id: 0x1234, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'web.lab.test' }], ...extra });
}

function rcodeOf(reply: Buffer | undefined): string | undefined {
  return reply && dnsPacket.decode(reply).rcode;
}

test('a standard query is parsed: id, question, RD, EDNS0 size', () => {
  const parsed = parseClientQuery(query({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] }));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.query, { id: 0x1234, question: { name: 'web.lab.test', type: 'A', class: 'IN' }, rd: true, cd: false, ednsSize: 4096 });
});

test('malformed queries get FORMERR with their id; non-queries and runts get nothing', () => {
  const truncated = query().subarray(0, 20);
  const bad = parseClientQuery(truncated);
  assert.ok(!bad.ok);
  assert.equal(rcodeOf(bad.reply), 'FORMERR');
  assert.equal(bad.reply!.readUInt16BE(0), 0x1234);

  for (const packet of [
    query({ questions: [] }),
    query({ questions: [{ type: 'A', name: 'a.test' }, { type: 'A', name: 'b.test' }] }),
    query({ answers: [{ type: 'A', name: 'a.test', data: '192.0.2.1' }] }),
    query({ questions: [{ type: 'A', name: 'with space.test' }] }),
  ]) {
    const parsed = parseClientQuery(packet);
    assert.ok(!parsed.ok);
    assert.equal(rcodeOf(parsed.reply), 'FORMERR', parsed.reason);
  }

  const update = query();
  update[2] |= 5 << 3; // opcode UPDATE
  assert.equal(rcodeOf((parseClientQuery(update) as { reply: Buffer }).reply), 'NOTIMP');

  const response = query();
  response[2] |= 0x80;
  assert.deepEqual(parseClientQuery(response), { ok: false, reply: undefined, reason: 'a response, not a query' });
  assert.equal((parseClientQuery(Buffer.alloc(11)) as { reply: unknown }).reply, undefined);
});

test('names that would not survive the text form are not forwardable', () => {
  assert.ok(isForwardableName('web.lab.test'));
  assert.ok(isForwardableName('_sip._udp.example.'));
  assert.ok(isForwardableName(''));
  assert.ok(!isForwardableName('a..b'));
  assert.ok(!isForwardableName('x'.repeat(64) + '.test'));
  assert.ok(!isForwardableName('caf\u00e9.test'));
  assert.ok(!isForwardableName('a\\.b.test'));
});

const q: ClientQuery = { id: 7, question: { name: 'many.test', type: 'A', class: 'IN' }, rd: true, cd: false, ednsSize: undefined };
const many = {
  rcode: 'NOERROR',
  answers: Array.from({ length: 40 }, (_, i) => ({ type: 'A', name: 'many.test', ttl: 60, data: `203.0.113.${i}` })),
  authorities: [],
  additionals: [],
};

test('UDP answers over 512 bytes (or the EDNS0 size) come back empty with TC; TCP ones whole', () => {
  const udp = dnsPacket.decode(buildUdpResponse(q, many));
  assert.equal(udp.flag_tc, true);
  assert.equal(udp.answers!.length, 0);
  assert.equal(udp.id, 7);
  assert.equal(dnsPacket.decode(buildResponse(q, many)).answers!.length, 40);

  const edns = { ...q, ednsSize: 4096 };
  assert.equal(udpLimit(edns), 1232, 'capped at the flag-day size');
  const fits = dnsPacket.decode(buildUdpResponse(edns, many));
  assert.equal(fits.flag_tc, false);
  assert.equal(fits.answers!.length, 40);
  assert.equal(udpLimit({ ...q, ednsSize: 100 }), 512, 'never below 512');
});

test('responses echo id, question and RD, set RA, and carry OPT only when the client used EDNS0', () => {
  const reply = dnsPacket.decode(buildResponse({ ...q, ednsSize: 1232 }, { ...many, answers: many.answers.slice(0, 1) }));
  assert.equal(reply.type, 'response');
  assert.equal(reply.flag_rd, true);
  assert.equal(reply.flag_ra, true);
  assert.deepEqual(reply.questions, [q.question]);
  assert.equal(reply.additionals!.filter((a) => a.type === 'OPT').length, 1);
  assert.equal(dnsPacket.decode(buildResponse(q, many)).additionals!.length, 0);
});
