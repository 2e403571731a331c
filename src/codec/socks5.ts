/*
 * SOCKS5 (RFC 1928) and its username/password sub-negotiation (RFC 1929).
 *
 * Greeting, client -> server            Method selection, server -> client
 *   +-----+----------+----------+         +-----+--------+
 *   | VER | NMETHODS | METHODS  |         | VER | METHOD |
 *   |  1  |    1     | 1 to 255 |         |  1  |   1    |
 *   +-----+----------+----------+         +-----+--------+
 *   VER = 0x05                            METHOD 0x00 none, 0x02 user/pass, 0xFF none acceptable
 *
 * User/pass request (RFC 1929)                          User/pass reply
 *   +-----+------+----------+------+----------+           +-----+--------+
 *   | VER | ULEN |  UNAME   | PLEN |  PASSWD  |           | VER | STATUS |
 *   |  1  |  1   | 1 to 255 |  1   | 1 to 255 |           |  1  |   1    |
 *   +-----+------+----------+------+----------+           +-----+--------+
 *   VER = 0x01                                            STATUS 0x00 success, anything else failure
 *
 * Request, client -> server                      Reply, server -> client
 *   +-----+-----+-------+------+----------+----------+   +-----+-----+-------+------+----------+----------+
 *   | VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |   | VER | REP |  RSV  | ATYP | BND.ADDR | BND.PORT |
 *   |  1  |  1  | X'00' |  1   | Variable |    2     |   |  1  |  1  | X'00' |  1   | Variable |    2     |
 *   +-----+-----+-------+------+----------+----------+   +-----+-----+-------+------+----------+----------+
 *   CMD 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE; ATYP+ADDR+PORT: see socks-addr.ts
 *
 * Decoders return unknown CMD/REP/METHOD values as numbers: answering "command not supported"
 * (REP=7) is the caller's job and needs the request to have parsed. RSV is not checked on
 * decode because the field carries no meaning and some implementations leave junk in it.
 */
import type { SocksAddr } from '../core/addr.js';
import { CodecError, NEED_MORE, type Decoded, type NeedMore } from '../core/need-more.js';
import { assertByte, assertOffset, decodeSocksAddr, decodeUtf8, encodeSocksAddr, encodeText, hex2 } from './socks-addr.js';

export const AuthMethod = { NONE: 0x00, USERPASS: 0x02, NO_ACCEPTABLE: 0xff } as const;

export const Socks5Command = { CONNECT: 1, BIND: 2, UDP_ASSOCIATE: 3 } as const;

export const Socks5Reply = {
  SUCCEEDED: 0,
  GENERAL_FAILURE: 1,
  NOT_ALLOWED: 2,
  NETWORK_UNREACHABLE: 3,
  HOST_UNREACHABLE: 4,
  CONNECTION_REFUSED: 5,
  TTL_EXPIRED: 6,
  COMMAND_NOT_SUPPORTED: 7,
  ADDRESS_TYPE_NOT_SUPPORTED: 8,
} as const;

const REPLY_TEXT = [
  'succeeded',
  'general SOCKS server failure',
  'connection not allowed by ruleset',
  'network unreachable',
  'host unreachable',
  'connection refused by destination host',
  'TTL expired',
  'command not supported',
  'address type not supported',
];

export function socks5ReplyReason(code: number): string {
  const text = Number.isInteger(code) ? REPLY_TEXT[code] : undefined;
  return text ? `${text} (REP=${code})` : `unassigned reply code (REP=${hex2(code)})`;
}

const VERSION = 0x05;
const AUTH_VERSION = 0x01;

/** Most wrong-version bytes are a peer speaking another protocol; say which. */
function versionError(got: number): CodecError {
  const hint =
    got === 0x04 ? ' (a SOCKS4 peer?)'
    : got === 0x16 ? ' (looks like TLS)'
    : 'CGHP'.includes(String.fromCharCode(got)) ? ' (looks like HTTP)'
    : '';
  return new CodecError('SOCKS5_BAD_VERSION', `expected SOCKS version 5, got ${hex2(got)}${hint}`);
}

export function encodeGreeting(methods: readonly number[]): Buffer {
  if (methods.length < 1 || methods.length > 255) {
    throw new CodecError('SOCKS5_BAD_METHODS', `greeting needs 1-255 methods, got ${methods.length}`);
  }
  for (const m of methods) assertByte(m, 'SOCKS5_BAD_METHODS', 'auth method');
  return Buffer.from([VERSION, methods.length, ...methods]);
}

export function decodeGreeting(buf: Buffer, offset = 0): Decoded<{ methods: number[] }> {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  if (buf[offset] !== VERSION) throw versionError(buf[offset]);
  if (avail < 2) return NEED_MORE;
  const n = buf[offset + 1];
  if (n === 0) throw new CodecError('SOCKS5_NO_METHODS', 'greeting offers no authentication methods (NMETHODS=0)');
  if (avail < 2 + n) return NEED_MORE;
  return { value: { methods: [...buf.subarray(offset + 2, offset + 2 + n)] }, bytesRead: 2 + n };
}

export function encodeMethodSelection(method: number): Buffer {
  assertByte(method, 'SOCKS5_BAD_METHOD', 'auth method');
  return Buffer.of(VERSION, method);
}

export function decodeMethodSelection(buf: Buffer, offset = 0): Decoded<number> {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  if (buf[offset] !== VERSION) throw versionError(buf[offset]);
  if (avail < 2) return NEED_MORE;
  return { value: buf[offset + 1], bytesRead: 2 };
}

// RFC 1929 says PLEN is 1-255, but an empty password is a real configuration and costs nothing.
const USERNAME = { code: 'SOCKS5_AUTH_BAD_USERNAME', what: 'username', min: 1, max: 255, allowNul: true };
const PASSWORD = { code: 'SOCKS5_AUTH_BAD_PASSWORD', what: 'password', min: 0, max: 255, allowNul: true };

export function encodeUserPassRequest(username: string, password: string): Buffer {
  const user = encodeText(username, USERNAME);
  const pass = encodeText(password, PASSWORD);
  return Buffer.concat([Buffer.of(AUTH_VERSION, user.length), user, Buffer.of(pass.length), pass]);
}

export function decodeUserPassRequest(buf: Buffer, offset = 0): Decoded<{ username: string; password: string }> {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  if (buf[offset] !== AUTH_VERSION) {
    throw new CodecError('SOCKS5_AUTH_BAD_VERSION', `expected user/pass version 1, got ${hex2(buf[offset])}`);
  }
  if (avail < 2) return NEED_MORE;
  const ulen = buf[offset + 1];
  if (ulen === 0) throw new CodecError('SOCKS5_AUTH_BAD_USERNAME', 'empty username (ULEN=0)');
  if (avail < 2 + ulen + 1) return NEED_MORE;
  const plen = buf[offset + 2 + ulen];
  const total = 2 + ulen + 1 + plen;
  if (avail < total) return NEED_MORE;
  const userStart = offset + 2;
  const passStart = userStart + ulen + 1;
  const username = decodeUtf8(buf, userStart, userStart + ulen, 'SOCKS5_AUTH_BAD_USERNAME', 'username');
  const password = decodeUtf8(buf, passStart, passStart + plen, 'SOCKS5_AUTH_BAD_PASSWORD', 'password');
  return { value: { username, password }, bytesRead: total };
}

export function encodeUserPassReply(status: number): Buffer {
  assertByte(status, 'SOCKS5_AUTH_BAD_STATUS', 'auth status');
  return Buffer.of(AUTH_VERSION, status);
}

export function decodeUserPassReply(buf: Buffer, offset = 0): Decoded<number> {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  // Some servers put the SOCKS version (5) here instead of the sub-negotiation version (1).
  // Common clients never look at this byte, so those servers work everywhere else; only STATUS
  // carries meaning, and 5 cannot be mistaken for anything else at this point of the handshake.
  if (buf[offset] !== AUTH_VERSION && buf[offset] !== VERSION) {
    throw new CodecError('SOCKS5_AUTH_BAD_VERSION', `expected user/pass version 1, got ${hex2(buf[offset])}`);
  }
  if (avail < 2) return NEED_MORE;
  return { value: buf[offset + 1], bytesRead: 2 };
}

/** VER, a command or reply code, RSV: the three bytes in front of a request's or reply's address. */
function withHead(message: Buffer, version: number, code: number): Buffer {
  message[0] = version;
  message[1] = code;
  message[2] = 0x00;
  return message;
}

export function encodeRequest(command: number, addr: SocksAddr): Buffer {
  assertByte(command, 'SOCKS5_BAD_COMMAND', 'command');
  return withHead(encodeSocksAddr(addr, 3), VERSION, command);
}

export function decodeRequest(buf: Buffer, offset = 0): Decoded<{ command: number; addr: SocksAddr }> {
  const head = decodeHead(buf, offset);
  if (head === NEED_MORE) return NEED_MORE;
  const addr = decodeSocksAddr(buf, offset + 3);
  if (addr === NEED_MORE) return NEED_MORE;
  return { value: { command: head, addr: addr.value }, bytesRead: 3 + addr.bytesRead };
}

export function encodeReply(reply: number, bound: SocksAddr): Buffer {
  assertByte(reply, 'SOCKS5_BAD_REPLY', 'reply code');
  return withHead(encodeSocksAddr(bound, 3), VERSION, reply);
}

export function decodeReply(buf: Buffer, offset = 0): Decoded<{ reply: number; bound: SocksAddr }> {
  const head = decodeHead(buf, offset);
  if (head === NEED_MORE) return NEED_MORE;
  const bound = decodeSocksAddr(buf, offset + 3);
  if (bound === NEED_MORE) return NEED_MORE;
  return { value: { reply: head, bound: bound.value }, bytesRead: 3 + bound.bytesRead };
}

/** VER + CMD/REP + RSV, common to requests and replies; returns CMD/REP. */
function decodeHead(buf: Buffer, offset: number): NeedMore | number {
  assertOffset(buf, offset);
  const avail = buf.length - offset;
  if (avail < 1) return NEED_MORE;
  if (buf[offset] !== VERSION) throw versionError(buf[offset]);
  if (avail < 3) return NEED_MORE;
  return buf[offset + 1];
}
