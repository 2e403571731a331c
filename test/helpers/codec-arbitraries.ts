/** Value generators for the codec property and fuzz tests: addresses, names and messages as peers send them. */
import fc from 'fast-check';
import type { SocksAddr } from '../../src/core/addr.js';
import { decodeIpv6, parseIp } from '../../src/codec/ip.js';

export const byte = fc.integer({ min: 0, max: 255 });
export const port = fc.integer({ min: 0, max: 65535 });
export const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a));

export const ipv4Text = fc.tuple(byte, byte, byte, byte).map((o) => o.join('.'));
export const ipv6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
/** Every way of writing an IPv6 address that a caller might hand us. */
export const ipv6Text = fc.oneof(
  fc.ipV6(),
  ipv6Bytes.map((b) => decodeIpv6(b, 0)),
  ipv6Bytes.map((b) => [...Array(8).keys()].map((i) => b.readUInt16BE(i * 2).toString(16).padStart(4, '0').toUpperCase()).join(':')),
  fc.tuple(ipv6Bytes, ipv4Text).map(([b, v4]) => `${[0, 1, 2, 3, 4, 5].map((i) => b.readUInt16BE(i * 2).toString(16)).join(':')}:${v4}`),
  ipv4Text.map((v4) => `::ffff:${v4}`),
);
export const canonical6 = (text: string): string => new URL(`http://[${text}]`).hostname.slice(1, -1);

const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);
/** Text of `min`..`max` UTF-8 bytes, often right at the limit. */
export const utf8 = (min: number, max: number, allowNul: boolean): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 90 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: max }),
      fc.string({ unit: 'grapheme-ascii', minLength: Math.max(min, max - 2), maxLength: max }), // at the limit
    )
    .filter((s) => wellFormed(s) && (allowNul || !s.includes('\0')) && Buffer.byteLength(s) >= min && Buffer.byteLength(s) <= max);

export const socksAddr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text, port }),
  fc.record({ kind: fc.constant('ipv6' as const), host: ipv6Text, port }),
  fc.record({ kind: fc.constant('domain' as const), host: utf8(1, 255, false), port }),
);
/** What a decoder gives back for `addr`: IPv6 in canonical text, everything else as sent. */
export const decodedAddr = (addr: SocksAddr): SocksAddr =>
  addr.kind === 'ipv6' ? { ...addr, host: canonical6(addr.host) } : { ...addr };

/** What SOCKS4(a) can carry: IPv4 outside the 4a marker range, or a name. */
export const socks4Addr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text.filter((t) => !/^0\.0\.0\.[1-9]/.test(t)), port }),
  fc.record({ kind: fc.constant('domain' as const), host: utf8(1, 255, false), port }),
);

const httpDomain = fc.oneof(fc.domain(), fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=]{1,40}$/)).filter((h) => !parseIp('ipv4', h));
/** What a CONNECT request can carry: IP literals and reg-names. */
export const httpAddr: fc.Arbitrary<SocksAddr> = fc.oneof(
  fc.record({ kind: fc.constant('ipv4' as const), host: ipv4Text, port }),
  fc.record({ kind: fc.constant('ipv6' as const), host: ipv6Text, port }),
  fc.record({ kind: fc.constant('domain' as const), host: httpDomain, port }),
);
export const basicAuth = fc.option(
  fc.record({ username: utf8(0, 40, true).filter((u) => !u.includes(':')), password: utf8(0, 40, true) }),
  { nil: undefined },
);

export interface ConnectResponseParts {
  readonly status: number;
  readonly reason: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly eols: readonly string[];
}

/** An HTTP CONNECT response head, mixing CRLF and bare LF line ends the way sloppy proxies do. */
export const connectResponse: fc.Arbitrary<ConnectResponseParts> = fc.record({
  status: fc.integer({ min: 100, max: 599 }),
  reason: fc.stringMatching(/^[ -~]{0,30}$/),
  headers: fc.uniqueArray(
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.stringMatching(/^([!-~]([ -~]{0,30}[!-~])?)?$/)),
    { maxLength: 6, selector: ([name]) => name },
  ),
  eols: fc.array(fc.constantFrom('\r\n', '\n'), { minLength: 8, maxLength: 8 }),
});

/** The codec has no response encoder (socksgate only ever receives them), so tests build them here. */
export function encodeConnectResponse(r: ConnectResponseParts): Buffer {
  const lines = [`HTTP/1.1 ${r.status} ${r.reason}`, ...r.headers.map(([n, v]) => `${n}: ${v}`), ''];
  return Buffer.from(lines.map((l, i) => l + r.eols[i]).join(''), 'latin1');
}
