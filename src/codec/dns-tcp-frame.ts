/*
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): every message is preceded by its length.
 *
 *   +--------+--------+----------------------------+
 *   | length (u16 BE) | DNS message (length bytes) |
 *   +--------+--------+----------------------------+
 *
 * A zero length is legal framing but no DNS message is shorter than its 12-byte header, so it is
 * refused: a peer sending one is broken, and accepting it would let it spin us on empty frames.
 */
import { CodecError, NEED_MORE, type Decoded } from '../core/need-more.js';

export const DNS_HEADER_BYTES = 12;
export const DNS_TCP_MAX_MESSAGE = 0xffff;

export function encodeDnsTcpFrame(message: Buffer): Buffer {
  if (message.length > DNS_TCP_MAX_MESSAGE) {
    throw new CodecError('DNS_FRAME_TOO_LONG', `a DNS message of ${message.length} bytes does not fit a TCP frame`);
  }
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** One framed message starting at `offset`; the value is a copy, safe to keep after the buffer is reused. */
export function decodeDnsTcpFrame(buf: Buffer, offset: number): Decoded<Buffer> {
  if (buf.length - offset < 2) return NEED_MORE;
  const length = buf.readUInt16BE(offset);
  if (length < DNS_HEADER_BYTES) {
    throw new CodecError('DNS_FRAME_TOO_SHORT', `a DNS TCP frame of ${length} bytes cannot hold a DNS header`);
  }
  if (buf.length - offset < 2 + length) return NEED_MORE;
  return { value: Buffer.from(buf.subarray(offset + 2, offset + 2 + length)), bytesRead: 2 + length };
}

/**
 * Accumulates stream chunks and yields whole messages, however the bytes were split. Pure: the
 * caller feeds chunks from its socket and handles a thrown CodecError by closing the connection.
 */
export class DnsTcpFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const decoded = decodeDnsTcpFrame(this.pending, offset);
      if (decoded === NEED_MORE) break;
      messages.push(decoded.value);
      offset += decoded.bytesRead;
    }
    this.pending = offset === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(offset);
    return messages;
  }

  /** Bytes of an unfinished frame (an EOF with some left means the peer cut a message short). */
  get buffered(): number {
    return this.pending.length;
  }
}
