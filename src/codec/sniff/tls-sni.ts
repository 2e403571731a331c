/*
 * The server name in a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3), read from the first record:
 *
 *   record:      type=0x16 (1) | version (2) | length (2) | fragment
 *   handshake:   type=0x01 (1) | length (3) | client_version (2) | random (32)
 *                | session_id: len (1) + bytes | cipher_suites: len (2) + bytes
 *                | compression_methods: len (1) + bytes | extensions: len (2) + list
 *   extension:   type (2) | length (2) | data          server_name is type 0:
 *   server_name: list length (2) | name_type=0 (1) | name length (2) | host_name (ASCII)
 *
 * Only the first record is read: a ClientHello split over records is rare enough to pass unnamed.
 */
import { NEED_MORE } from '../../core/need-more.js';
import { sniffedHostname, type SniffResult } from './hostname.js';

const RECORD_HEADER = 5;
/** RFC 8446 §5.1: a plaintext record carries at most 2^14 bytes. */
const MAX_RECORD = 16_384;

/** A read cursor that says "undefined" instead of throwing past the end. */
class Cursor {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}
  u8(): number | undefined {
    return this.pos + 1 <= this.end ? this.buf[this.pos++] : undefined;
  }
  u16(): number | undefined {
    if (this.pos + 2 > this.end) return undefined;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  latin1(start: number, length: number): string {
    return this.buf.toString('latin1', start, start + length);
  }
  skip(n: number | undefined): boolean {
    if (n === undefined || this.pos + n > this.end) return false;
    this.pos += n;
    return true;
  }
}

export function sniffTlsSni(buf: Buffer): SniffResult {
  if (buf.length === 0) return NEED_MORE;
  if (buf[0] !== 0x16) return undefined;
  if (buf.length >= 2 && buf[1] !== 0x03) return undefined;
  if (buf.length < RECORD_HEADER) return NEED_MORE;
  const recordLength = buf.readUInt16BE(3);
  if (recordLength === 0 || recordLength > MAX_RECORD) return undefined;
  if (buf.length > RECORD_HEADER && buf[RECORD_HEADER] !== 0x01) return undefined;
  if (buf.length < RECORD_HEADER + recordLength) return NEED_MORE;
  return serverName(new Cursor(buf, RECORD_HEADER, RECORD_HEADER + recordLength));
}

function serverName(c: Cursor): string | undefined {
  if (c.u8() !== 0x01 || !c.skip(3)) return undefined; // ClientHello, its length (the record bounds us)
  if (!c.skip(2 + 32)) return undefined; // client_version, random
  if (!c.skip(c.u8())) return undefined; // session_id
  if (!c.skip(c.u16())) return undefined; // cipher_suites
  if (!c.skip(c.u8())) return undefined; // compression_methods
  const extensionsLength = c.u16();
  if (extensionsLength === undefined) return undefined;
  const end = c.pos + extensionsLength;
  while (c.pos + 4 <= end) {
    const extType = c.u16()!;
    const extLength = c.u16()!;
    if (extType !== 0) {
      if (!c.skip(extLength)) return undefined;
      continue;
    }
    const listLength = c.u16();
    if (listLength === undefined || listLength + 2 !== extLength) return undefined;
    const listEnd = c.pos + listLength;
    while (c.pos + 3 <= listEnd) {
      const nameType = c.u8()!;
      const nameLength = c.u16()!;
      const start = c.pos;
      if (!c.skip(nameLength) || c.pos > listEnd) return undefined;
      if (nameType === 0) return sniffedHostname(c.latin1(start, nameLength));
    }
    return undefined;
  }
  return undefined;
}
