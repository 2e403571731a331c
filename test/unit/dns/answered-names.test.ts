import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type Packet } from 'dns-packet';
import { AnsweredNames } from '../../../src/dns/answered-names.js';
import { answerAddresses } from '../../../src/dns/wire-addresses.js';
import { readWireAnswer } from '../../../src/dns/wire-answer.js';

test('the addresses of an answer are its A and AAAA records, after a CNAME too; other records give none', () => {
  const packet: Packet = {
    id: 1,
    type: 'response',
    questions: [{ name: 'www.lab.test', type: 'A', class: 'IN' }],
    answers: [
      { type: 'CNAME', name: 'www.lab.test', ttl: 60, data: 'cdn.lab.test' },
      { type: 'A', name: 'cdn.lab.test', ttl: 60, data: '192.0.2.10' },
      { type: 'AAAA', name: 'cdn.lab.test', ttl: 60, data: '2001:db8::a' },
      { type: 'TXT', name: 'cdn.lab.test', ttl: 60, data: 'x' },
    ],
    additionals: [{ type: 'A', name: 'ns.lab.test', ttl: 60, data: '192.0.2.53' }],
  };
  assert.deepEqual(answerAddresses(readWireAnswer(dnsPacket.encode(packet))), ['192.0.2.10', '2001:db8::a']);
  assert.deepEqual(answerAddresses(readWireAnswer(dnsPacket.encode({ ...packet, answers: [] }))), []);
});

function table(now: { t: number }, isLocal = (_: string) => false) {
  return new AnsweredNames({ capacity: 4, minHoldS: 60, isLocal, now: () => now.t });
}

test('a client knows an address by the one name it was answered for; other clients do not', () => {
  const now = { t: 0 };
  const names = table(now);
  names.record('192.0.2.2', 'web.lab.test', ['203.0.113.80', '203.0.113.81'], 300);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.81'), 'web.lab.test');
  assert.equal(names.nameFor('::ffff:192.0.2.2', '203.0.113.80'), 'web.lab.test', 'a v4-mapped client is the same client');
  assert.equal(names.nameFor('192.0.2.3', '203.0.113.80'), undefined);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.82'), undefined);
});

test('an address answered for two names to the same client names neither, until that expires', () => {
  const now = { t: 0 };
  const names = table(now);
  names.record('192.0.2.2', 'a.lab.test', ['203.0.113.80'], 30);
  names.record('192.0.2.2', 'a.lab.test', ['203.0.113.80'], 30);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.80'), 'a.lab.test', 'the same name again is no conflict');
  names.record('192.0.2.2', 'b.lab.test', ['203.0.113.80'], 30);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.80'), undefined);
  now.t = 61_000;
  names.record('192.0.2.2', 'b.lab.test', ['203.0.113.80'], 30);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.80'), 'b.lab.test', 'once the old answer is gone, the new one stands alone');
});

test('an answer is held for its TTL but at least the minimum hold, then forgotten', () => {
  const now = { t: 0 };
  const names = table(now);
  names.record('192.0.2.2', 'short.lab.test', ['203.0.113.1'], 5);
  names.record('192.0.2.2', 'long.lab.test', ['203.0.113.2'], 600);
  now.t = 59_000;
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.1'), 'short.lab.test');
  now.t = 60_000;
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.1'), undefined);
  now.t = 599_000;
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.2'), 'long.lab.test');
});

test('queries over loopback name the flows of this host, whatever local address they leave from', () => {
  const now = { t: 0 };
  const names = table(now, (host) => host === '192.0.2.2');
  names.record('127.0.0.1', 'web.lab.test', ['203.0.113.80'], 60);
  names.record('::1', 'six.lab.test', ['2001:db8::80'], 60);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.80'), 'web.lab.test');
  assert.equal(names.nameFor('127.0.0.1', '2001:db8::80'), 'six.lab.test');
  assert.equal(names.nameFor('192.0.2.9', '203.0.113.80'), undefined, 'a LAN client is not this host');
});

test('the table is bounded: the least recently used pairs go first', () => {
  const now = { t: 0 };
  const names = table(now);
  for (let i = 1; i <= 6; i++) names.record('192.0.2.2', `n${i}.lab.test`, [`203.0.113.${i}`], 60);
  assert.equal(names.size, 4);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.1'), undefined);
  assert.equal(names.nameFor('192.0.2.2', '203.0.113.6'), 'n6.lab.test');
});
