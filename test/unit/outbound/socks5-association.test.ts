// An association through a chain: each datagram wrapped once per relay behind the first and once
// for its destination (copied only when the inbound's headroom is too short), replies unwrapped.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';
import { SOCKS5_UDP_MAX_HEADER } from '../../../src/codec/socks5-udp.js';
import { encodeNestedSocks5Udp } from '../../../src/codec/socks5-udp-nested.js';
import { Socks5Association, connectUdp } from '../../../src/outbound/socks5-association.js';
import { socketPair } from '../../helpers/socket-pair.js';

const HEADROOM = SOCKS5_UDP_MAX_HEADER;
const r2: SocksAddr = addrOf('198.51.100.1', 40001);
const r3: SocksAddr = addrOf('198.51.100.1', 40002);

/** The payload behind the inbound's headroom, as the TPROXY listener hands datagrams over. */
function inbound(payload: string): Buffer {
  return Buffer.concat([Buffer.alloc(HEADROOM), Buffer.from(payload)]);
}

test('a three-hop association wraps each datagram in three headers and unwraps three from replies', async () => {
  const relay = dgram.createSocket('udp4');
  relay.bind(0, '127.0.0.1');
  await once(relay, 'listening');
  const [control, far] = await socketPair();
  const udp = dgram.createSocket('udp4');
  const first = addrOf('127.0.0.1', relay.address().port);
  await connectUdp(udp, first);
  const counters = createUdpCounters();
  const replies: [SocksAddr, string][] = [];
  const assoc = new Socks5Association([control], udp, first, [r2, r3], { onReply: (from, p) => replies.push([from, p.toString()]), onClose() {} }, counters);
  try {
    assert.equal(assoc.relay, `127.0.0.1:${first.port} > 198.51.100.1:40001 > 198.51.100.1:40002`);
    const dst = addrOf('203.0.113.10', 53);
    const longName: SocksAddr = { kind: 'domain', host: 'x'.repeat(250) + '.test', port: 7 };
    for (const [to, payload] of [[dst, 'query'], [longName, 'by name, longer than the headroom']] as const) {
      assert.equal(assoc.send(to, inbound(payload), HEADROOM), true);
      const [msg, from] = (await once(relay, 'message')) as [Buffer, dgram.RemoteInfo];
      assert.deepEqual(msg, encodeNestedSocks5Udp([r2, r3, to], Buffer.from(payload)));
      relay.send(encodeNestedSocks5Udp([r2, r3, to], Buffer.from(`re: ${payload}`)), from.port, from.address);
    }
    relay.send(Buffer.from([0, 0, 0, 1, 198, 51, 100, 1]), udp.address().port, '127.0.0.1');
    for (let waited = 0; replies.length < 2 && waited < 2_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(replies, [[dst, 're: query'], [longName, 're: by name, longer than the headroom']]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(counters.droppedMalformed, 1, 'a reply with fewer headers than hops is dropped');
  } finally {
    assoc.close();
    far.destroy();
    relay.close();
  }
});
