import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SocksAddr } from '../../src/core/addr.js';
import { decodeIpv6 } from '../../src/codec/ip.js';
import { NEED_MORE } from '../../src/core/need-more.js';
import {
  SOCKS5_UDP_MAX_HEADER,
  decodeSocks5UdpHeader,
  encodeSocks5UdpHeader,
  socks5UdpHeaderLength,
  writeSocks5UdpHeader,
} from '../../src/codec/socks5-udp.js';

const RUNS = { numRuns: 500 };
const byte = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 0, max: 65535 });
const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
const ipv4 = fc.tuple(byte, byte, byte, byte).map((o) => o.join('.'));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => decodeIpv6(Buffer.from(a), 0));
const domain = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 120 })
  .filter((s) => !s.includes('\0') && !/\p{Cs}/u.test(s) && Buffer.byteLength(s) >= 1 && Buffer.byteLength(s) <= 255);
const socksAddr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4, port }),
  fc.record({ kind: fc.constant('ipv6' as const), host: ipv6, port }),
  fc.record({ kind: fc.constant('domain' as const), host: domain, port }),
);

test('socks5-udp: header round trip, payload untouched, at any offset', () => {
  fc.assert(
    fc.property(byte, socksAddr, bytes(64), bytes(8), (frag, addr, payload, lead) => {
      const header = encodeSocks5UdpHeader({ frag, addr });
      assert.equal(header.length, socks5UdpHeaderLength(addr));
      assert.ok(header.length <= SOCKS5_UDP_MAX_HEADER);
      const datagram = Buffer.concat([lead, header, payload]);
      const decoded = decodeSocks5UdpHeader(datagram, lead.length);
      assert.notEqual(decoded, NEED_MORE);
      if (decoded === NEED_MORE) return;
      assert.deepStrictEqual(decoded.value, { frag, addr: { ...addr } });
      assert.equal(decoded.bytesRead, header.length);
      assert.deepEqual(datagram.subarray(lead.length + decoded.bytesRead), payload);
    }),
    RUNS,
  );
});

test('socks5-udp: writing into headroom equals encoding and leaves the payload in place', () => {
  fc.assert(
    fc.property(socksAddr, bytes(64), fc.integer({ min: 0, max: 40 }), (addr, payload, spare) => {
      const room = socks5UdpHeaderLength(addr) + spare;
      const buf = Buffer.concat([Buffer.alloc(room, 0xee), payload]);
      const start = writeSocks5UdpHeader(buf, room, addr);
      assert.equal(start, spare);
      assert.deepEqual(buf.subarray(start), Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr }), payload]));
    }),
    RUNS,
  );
});

test('socks5-udp: every truncation of a header is NEED_MORE (the caller drops it)', () => {
  fc.assert(
    fc.property(socksAddr, (addr) => {
      const header = encodeSocks5UdpHeader({ frag: 0, addr });
      for (let i = 0; i < header.length; i++) assert.equal(decodeSocks5UdpHeader(header.subarray(0, i), 0), NEED_MORE, `${i}/${header.length}`);
    }),
    { numRuns: 200 },
  );
});
