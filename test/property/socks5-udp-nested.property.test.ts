// N-fold SOCKS5 UDP encapsulation (chains): wrapping then unwrapping is the identity for 1–4 hops,
// writing into headroom equals encoding, and random, mutated or truncated datagrams give typed
// CodecErrors or NEED_MORE only, the same however they were cut.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { NEED_MORE } from '../../src/core/need-more.js';
import {
  decodeNestedSocks5UdpHeaders,
  encodeNestedSocks5Udp,
  nestedHeadersLength,
  writeNestedSocks5UdpHeaders,
} from '../../src/codec/socks5-udp-nested.js';
import { bytes, decodedAddr, socksAddr } from '../helpers/codec-arbitraries.js';
import { fuzzRuns, streamDecoderProperty } from '../helpers/fuzz.js';
import { fuzzInputs } from '../helpers/mutate.js';

const hops = fc.integer({ min: 1, max: 4 });
const path = (n: number) => fc.array(socksAddr, { minLength: n, maxLength: n });

test('nested socks5-udp: wrap then unwrap is the identity for 1–4 hops, payload untouched', () => {
  fc.assert(
    fc.property(hops.chain((n) => path(n)), bytes(200), bytes(8), (addrs, payload, lead) => {
      const datagram = encodeNestedSocks5Udp(addrs, payload);
      assert.equal(datagram.length, nestedHeadersLength(addrs) + payload.length);
      const decoded = decodeNestedSocks5UdpHeaders(Buffer.concat([lead, datagram]), addrs.length, lead.length);
      assert.notEqual(decoded, NEED_MORE);
      if (decoded === NEED_MORE) return;
      assert.deepStrictEqual(decoded.value, addrs.map((addr) => ({ frag: 0, addr: decodedAddr(addr) })));
      assert.equal(decoded.bytesRead, nestedHeadersLength(addrs));
      assert.deepEqual(datagram.subarray(decoded.bytesRead), payload);
    }),
    fuzzRuns(),
  );
});

test('nested socks5-udp: written into headroom equals encoded; too little headroom is a typed error and writes nothing', () => {
  fc.assert(
    fc.property(hops.chain((n) => path(n)), bytes(64), fc.integer({ min: -20, max: 40 }), (addrs, payload, spare) => {
      const room = Math.max(0, nestedHeadersLength(addrs) + spare);
      const buf = Buffer.concat([Buffer.alloc(room, 0xee), payload]);
      if (spare < 0) {
        assert.throws(() => writeNestedSocks5UdpHeaders(buf, room, addrs), { name: 'CodecError', code: 'SOCKS5_UDP_NO_ROOM' });
        assert.ok(buf.subarray(0, room).every((b) => b === 0xee));
        return;
      }
      const start = writeNestedSocks5UdpHeaders(buf, room, addrs);
      assert.equal(start, spare);
      assert.deepEqual(buf.subarray(start), encodeNestedSocks5Udp(addrs, payload));
    }),
    fuzzRuns(),
  );
});

const wrapped = fc.tuple(hops.chain((n) => path(n)), bytes(32)).map(([addrs, payload]) => encodeNestedSocks5Udp(addrs, payload));

for (const depth of [1, 2, 3, 4]) {
  test(`nested socks5-udp fuzz, depth ${depth}: random and mutated datagrams give typed errors only, the same however cut`, () => {
    fc.assert(streamDecoderProperty((buf, offset) => decodeNestedSocks5UdpHeaders(buf, depth, offset), fuzzInputs(wrapped)), fuzzRuns());
  });
}

test('nested socks5-udp: a truncated datagram is NEED_MORE at every cut, never a crash', () => {
  fc.assert(
    fc.property(hops.chain((n) => path(n)), fc.nat(), (addrs, cut) => {
      const headers = encodeNestedSocks5Udp(addrs, Buffer.alloc(0));
      assert.equal(decodeNestedSocks5UdpHeaders(headers.subarray(0, cut % headers.length), addrs.length), NEED_MORE);
    }),
    fuzzRuns(),
  );
});
