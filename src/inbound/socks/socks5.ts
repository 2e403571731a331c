import { ErrorCode, errorCode } from '../../core/errors.js';
import { AuthMethod, decodeGreeting, decodeRequest, decodeUserPassRequest, encodeMethodSelection, encodeReply, encodeUserPassReply, Socks5Command } from '../../codec/socks5.js';
import type { SocksAddr } from '../../core/addr.js';
import { ANSWERED, ClientAnswer, runCommand, type HandshakeContext, type HandshakeResult } from './handshake.js';
import { SOCKS5_REPLY, type EncodeReply } from './reply-code.js';

const UNSPECIFIED: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

const encode: EncodeReply = (code, bound) => encodeReply(SOCKS5_REPLY[code], bound && bound.kind !== 'domain' ? bound : UNSPECIFIED);

/**
 * The server side of SOCKS5 (RFC 1928), step by step: method selection (no login, or RFC 1929
 * username/password when the listener has users), the login, then the request. CONNECT goes to
 * the router; the other commands to their handlers.
 */
export async function socks5Handshake(c: HandshakeContext): Promise<HandshakeResult> {
  const { client, users } = c;
  const { methods } = await client.read(decodeGreeting);
  const method = users.required ? AuthMethod.USERPASS : AuthMethod.NONE;
  if (!methods.includes(method)) {
    client.closeWith(encodeMethodSelection(AuthMethod.NO_ACCEPTABLE));
    c.refused(users.required ? ErrorCode.AUTH_REQUIRED : 'SOCKS5_NO_METHOD', users.required ? 'SOCKS5 client offered no username/password login' : 'SOCKS5 client offered no method without login');
    return ANSWERED;
  }
  client.write(encodeMethodSelection(method));
  let user: string | undefined;
  if (users.required) {
    const login = await client.read(decodeUserPassRequest);
    if (!users.check(login.username, login.password)) {
      client.closeWith(encodeUserPassReply(1));
      c.refused(ErrorCode.AUTH_FAILED, 'SOCKS5 login failed: unknown user or wrong password', login.username);
      return ANSWERED;
    }
    client.write(encodeUserPassReply(0));
    user = login.username;
  }
  let request;
  try {
    request = await client.read(decodeRequest);
  } catch (err) {
    // The request's head arrived, so the client reads a reply: say which part was not understood.
    if (errorCode(err) === 'SOCKS5_BAD_ATYP') client.closeWith(encode('address-type-not-supported'));
    throw err;
  }
  const { command, addr: target } = request;
  if (command === Socks5Command.CONNECT) return { kind: 'connect', target, user, answer: new ClientAnswer(client, encode) };
  const handler = command === Socks5Command.BIND ? c.commands.bind : command === Socks5Command.UDP_ASSOCIATE ? c.commands.udpAssociate : undefined;
  return runCommand(c, handler, { version: 5, command, target, user, encode });
}
