/*
 * SOCKS5 UDP request header (RFC 1928 §7), in front of every datagram to and from a UDP relay:
 *
 *   +-----+------+------+----------+----------+----------+
 *   | RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
 *   +-----+------+------+----------+----------+----------+
 *   |  2  |  1   |  1   | Variable |    2     | Variable |
 *   +-----+------+------+----------+----------+----------+
 *
 *   RSV   X'0000'
 *   FRAG  fragment number; X'00' is a standalone datagram (the only kind we send or accept)
 *   ATYP/DST.ADDR/DST.PORT  as in requests (socks-addr.ts); in a reply: where the datagram came from
 *
 * A datagram is never split across reads, so NEED_MORE here means a truncated header: the caller
 * drops it. The header is written in front of a payload that was received with headroom, so the
 * payload itself is never copied.
 */
import type { SocksAddr } from '../core/addr.js';
import { assertByte, assertOffset, decodeSocksAddr, encodeSocksAddr, socksAddrLength } from './socks-addr.js';
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';

export interface Socks5UdpHeader {
  readonly frag: number;
  readonly addr: SocksAddr;
}

/** RSV + FRAG + the longest address block (a 255-byte domain). */
export const SOCKS5_UDP_MAX_HEADER = 3 + 1 + 1 + 255 + 2;

export function socks5UdpHeaderLength(addr: SocksAddr): number {
  return 3 + socksAddrLength(addr);
}

export function encodeSocks5UdpHeader(header: Socks5UdpHeader): Buffer {
  assertByte(header.frag, 'SOCKS5_UDP_BAD_FRAG', 'FRAG');
  const out = encodeSocksAddr(header.addr, 3);
  out.writeUInt16BE(0, 0);
  out[2] = header.frag;
  return out;
}

/**
 * Writes a FRAG=0 header for `addr` so that it ends exactly at `payloadOffset`; returns where it
 * starts. `buf.subarray(start)` is then the whole datagram for the relay.
 */
export function writeSocks5UdpHeader(buf: Buffer, payloadOffset: number, addr: SocksAddr): number {
  assertOffset(buf, payloadOffset);
  const header = encodeSocks5UdpHeader({ frag: 0, addr });
  const start = payloadOffset - header.length;
  if (start < 0) {
    throw new CodecError('SOCKS5_UDP_NO_ROOM', `a ${header.length}-byte header needs that much headroom, got ${payloadOffset}`);
  }
  header.copy(buf, start);
  return start;
}

/** The header at `offset`; `bytesRead` is its length, and the payload is everything after it. */
export function decodeSocks5UdpHeader(buf: Buffer, offset = 0): Decoded<Socks5UdpHeader> {
  assertOffset(buf, offset);
  if (buf.length - offset < 4) return NEED_MORE;
  if (buf[offset] !== 0 || buf[offset + 1] !== 0) {
    throw new CodecError('SOCKS5_UDP_BAD_RSV', 'reserved bytes of a SOCKS5 UDP header are not zero');
  }
  const frag = buf[offset + 2];
  const addr = decodeSocksAddr(buf, offset + 3);
  if (addr === NEED_MORE) return NEED_MORE;
  return { value: { frag, addr: addr.value }, bytesRead: 3 + addr.bytesRead };
}
