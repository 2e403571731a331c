/*
 * A datagram through a chain of SOCKS5 UDP relays carries one SOCKS5 UDP header per hop (RFC 1928
 * §7, see socks5-udp.ts), outermost first: the one hop 1's relay reads names hop 2's relay, whose
 * header names hop 3's, …, and the innermost names the destination. Replies come back the same
 * way: each relay puts in front the header of where it got the datagram from, so the outermost
 * names hop 2's relay and the innermost the remote that answered.
 *
 *   hop 1 relay ← | RSV FRAG dst=R2 | RSV FRAG dst=R3 | … | RSV FRAG dst=target | DATA |
 */
import type { SocksAddr } from '../core/addr.js';
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';
import { assertOffset } from './socks-addr.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader, socks5UdpHeaderLength, type Socks5UdpHeader } from './socks5-udp.js';

/** Bytes the FRAG=0 headers for `addrs` take in front of a payload. */
export function nestedHeadersLength(addrs: readonly SocksAddr[]): number {
  let length = 0;
  for (const addr of addrs) length += socks5UdpHeaderLength(addr);
  return length;
}

/**
 * Writes FRAG=0 headers for `addrs` (outermost first) so that the innermost ends exactly at
 * `payloadOffset`; returns where the outermost starts. Throws SOCKS5_UDP_NO_ROOM when the
 * headroom is too small (nothing is written then).
 */
export function writeNestedSocks5UdpHeaders(buf: Buffer, payloadOffset: number, addrs: readonly SocksAddr[]): number {
  assertOffset(buf, payloadOffset);
  if (addrs.length === 0) throw new RangeError('at least one header is needed');
  const headers = addrs.map((addr) => encodeSocks5UdpHeader({ frag: 0, addr }));
  const total = headers.reduce((sum, h) => sum + h.length, 0);
  const start = payloadOffset - total;
  if (start < 0) throw new CodecError('SOCKS5_UDP_NO_ROOM', `${total} bytes of headers need that much headroom, got ${payloadOffset}`);
  let at = start;
  for (const header of headers) at += header.copy(buf, at);
  return start;
}

/** A new datagram: the headers for `addrs` (outermost first), then `payload`. */
export function encodeNestedSocks5Udp(addrs: readonly SocksAddr[], payload: Buffer): Buffer {
  const headers = nestedHeadersLength(addrs);
  const out = Buffer.allocUnsafe(headers + payload.length);
  payload.copy(out, headers);
  writeNestedSocks5UdpHeaders(out, headers, addrs);
  return out;
}

/**
 * The `depth` headers at `offset`, outermost first; `bytesRead` is their length, the payload is
 * everything after. A datagram is never split, so NEED_MORE means it was truncated.
 */
export function decodeNestedSocks5UdpHeaders(buf: Buffer, depth: number, offset = 0): Decoded<readonly Socks5UdpHeader[]> {
  assertOffset(buf, offset);
  if (!Number.isInteger(depth) || depth < 1) throw new CodecError('SOCKS5_UDP_BAD_DEPTH', `a nesting depth must be a positive integer, got ${depth}`);
  const headers: Socks5UdpHeader[] = [];
  let at = offset;
  for (let i = 0; i < depth; i++) {
    const header = decodeSocks5UdpHeader(buf, at);
    if (header === NEED_MORE) return NEED_MORE;
    headers.push(header.value);
    at += header.bytesRead;
  }
  return { value: headers, bytesRead: at - offset };
}
