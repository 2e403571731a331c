import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket, { type Packet } from 'dns-packet';
import type { SocksAddr } from '../../../src/core/addr.js';
import { UdpDnsTransport } from '../../../src/dns/udp-transport.js';
import { MAX_PENDING_QUERIES } from '../../../src/dns/upstream-query.js';
import { answerData } from '../../helpers/dns-wire.js';
import type { UdpAssociationEvents, UdpDialer } from '../../../src/adapter/udp.js';

const SERVER: SocksAddr = { kind: 'ipv4', host: '192.0.2.53', port: 53 };
/** Like AbortSignal.timeout, but its timer keeps the test alive until it fires. */
function deadline(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

const Q = { name: 'web.lab.test', type: 'A', class: 'IN' };

/** A dialer whose association hands each query to `answer`, which replies through the events. */
function fakeDialer(answer: (query: Packet, events: UdpAssociationEvents) => void): UdpDialer & { associations: number; events?: UdpAssociationEvents } {
  return {
    name: 'fake',
    associations: 0,
    async associate(_client, events) {
      this.associations++;
      this.events = events;
      return {
        relay: 'fake',
        send(dst, data, headroom) {
          assert.deepEqual(dst, SERVER);
          answer(dnsPacket.decode(data.subarray(headroom)), events);
          return true;
        },
        close() {},
      };
    },
  };
}

function reply(query: Packet, extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ id: query.id, type: 'response', questions: query.questions, answers: [{ type: 'A', name: Q.name, ttl: 5, data: '192.0.2.1' }], ...extra });
}

test('queries share one association; only a reply with our id and question, from the resolver port, counts', async () => {
  const dialer = fakeDialer((query, events) => {
    events.onReply({ ...SERVER, port: 5353 }, reply(query));
    events.onReply(SERVER, reply({ ...query, id: (query.id! + 1) & 0xffff }));
    events.onReply(SERVER, reply(query, { questions: [{ type: 'A', name: 'evil.test' }] }));
    setTimeout(() => events.onReply(SERVER, reply(query)), 5);
  });
  const transport = new UdpDnsTransport(SERVER, dialer);
  const [a, b] = await Promise.all([transport.exchange(Q, AbortSignal.timeout(2000)), transport.exchange(Q, AbortSignal.timeout(2000))]);
  assert.deepEqual(answerData(a.message), ['192.0.2.1']);
  assert.deepEqual(answerData(b.message), ['192.0.2.1']);
  assert.equal(dialer.associations, 1);
  transport.close();
});

test('a truncated answer fails (so the next resolver is asked); a closed association fails what is pending and reopens', async () => {
  const truncating = new UdpDnsTransport(SERVER, fakeDialer((query, events) => events.onReply(SERVER, reply(query, { flags: dnsPacket.TRUNCATED_RESPONSE }))));
  await assert.rejects(truncating.exchange(Q, AbortSignal.timeout(2000)), { code: 'SG_ERR_DNS_UPSTREAM_FAILED' });

  const dialer = fakeDialer((_query, events) => setTimeout(() => events.onClose('control connection closed'), 5));
  const closing = new UdpDnsTransport(SERVER, dialer);
  await assert.rejects(closing.exchange(Q, AbortSignal.timeout(2000)), { code: 'SG_ERR_DNS_UPSTREAM_CLOSED' });
  await assert.rejects(closing.exchange(Q, AbortSignal.timeout(2000)), { code: 'SG_ERR_DNS_UPSTREAM_CLOSED' });
  assert.equal(dialer.associations, 2);
  await assert.rejects(new UdpDnsTransport(SERVER, fakeDialer(() => {})).exchange(Q, deadline(20)), { code: 'SG_ERR_DNS_TIMEOUT' });
});

test('a resolver that never answers: past MAX_PENDING_QUERIES a query fails at once (SG_ERR_DNS_BUSY), never a search for a free id', async () => {
  const transport = new UdpDnsTransport(SERVER, fakeDialer(() => {}));
  const stop = new AbortController();
  try {
    const held = Array.from({ length: MAX_PENDING_QUERIES }, () => transport.exchange(Q, stop.signal).catch((err: Error) => err));
    const extra = transport.exchange(Q, stop.signal);
    const outcome = await Promise.race([extra.then(() => 'answered', (err: { code?: string }) => err.code), new Promise((r) => setTimeout(() => r('still waiting'), 500))]);
    assert.equal(outcome, 'SG_ERR_DNS_BUSY');
    stop.abort();
    for (const err of await Promise.all(held)) assert.equal((err as { code?: string }).code, 'SG_ERR_DNS_TIMEOUT');
    await assert.rejects(transport.exchange(Q, deadline(20)), { code: 'SG_ERR_DNS_TIMEOUT' }, 'the ids are free again');
  } finally {
    stop.abort();
    transport.close();
  }
});
