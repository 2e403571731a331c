import { ErrorCode, errorCode } from '../../core/errors.js';
import { AuthMethod, decodeGreeting, decodeRequest, decodeUserPassRequest, encodeMethodSelection, encodeReply, encodeUserPassReply, Socks5Command } from '../../codec/socks5.js';
import type { SocksAddr } from '../../core/addr.js';
import { NEED_MORE, type NeedMore } from '../../core/need-more.js';
import { ANSWERED, ClientAnswer, runCommand, type HandshakeContext, type HandshakeResult, type ServerSteps } from './handshake.js';
import { SOCKS5_REPLY, type EncodeReply } from './reply-code.js';

const UNSPECIFIED: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

const encode: EncodeReply = (code, bound) => encodeReply(SOCKS5_REPLY[code], bound && bound.kind !== 'domain' ? bound : UNSPECIFIED);

// The same few bytes for every client: built once.
const SELECTED_NONE = encodeMethodSelection(AuthMethod.NONE);
const SELECTED_USERPASS = encodeMethodSelection(AuthMethod.USERPASS);
const NO_ACCEPTABLE = encodeMethodSelection(AuthMethod.NO_ACCEPTABLE);
const LOGIN_OK = encodeUserPassReply(0);
const LOGIN_FAILED = encodeUserPassReply(1);

const enum Stage {
  GREETING,
  LOGIN,
  REQUEST,
}

/**
 * The server side of SOCKS5 (RFC 1928), step by step: method selection (no login, or RFC 1929
 * username/password when the listener has users), the login, then the request. CONNECT goes to
 * the router; the other commands to their handlers.
 */
export class Socks5Steps implements ServerSteps {
  private stage = Stage.GREETING;
  private user: string | undefined;

  constructor(private readonly c: HandshakeContext) {}

  advance(): HandshakeResult | NeedMore {
    const { c } = this;
    const { client, users } = c;
    if (this.stage === Stage.GREETING) {
      const greeting = client.take(decodeGreeting);
      if (greeting === NEED_MORE) return NEED_MORE;
      const method = users.required ? AuthMethod.USERPASS : AuthMethod.NONE;
      if (!greeting.methods.includes(method)) {
        client.closeWith(NO_ACCEPTABLE);
        c.refused(users.required ? ErrorCode.AUTH_REQUIRED : 'SOCKS5_NO_METHOD', users.required ? 'SOCKS5 client offered no username/password login' : 'SOCKS5 client offered no method without login');
        return ANSWERED;
      }
      client.write(users.required ? SELECTED_USERPASS : SELECTED_NONE);
      this.stage = users.required ? Stage.LOGIN : Stage.REQUEST;
    }
    if (this.stage === Stage.LOGIN) {
      const login = client.take(decodeUserPassRequest);
      if (login === NEED_MORE) return NEED_MORE;
      if (!users.check(login.username, login.password)) {
        client.closeWith(LOGIN_FAILED);
        c.refused(ErrorCode.AUTH_FAILED, 'SOCKS5 login failed: unknown user or wrong password', login.username);
        return ANSWERED;
      }
      client.write(LOGIN_OK);
      this.user = login.username;
      this.stage = Stage.REQUEST;
    }
    let request;
    try {
      request = client.take(decodeRequest);
    } catch (err) {
      // The request's head arrived, so the client reads a reply: say which part was not understood.
      if (errorCode(err) === 'SOCKS5_BAD_ATYP') client.closeWith(encode('address-type-not-supported'));
      throw err;
    }
    if (request === NEED_MORE) return NEED_MORE;
    const { user } = this;
    const { command, addr: target } = request;
    if (command === Socks5Command.CONNECT) return { kind: 'connect', target, user, answer: new ClientAnswer(client, encode) };
    const handler = command === Socks5Command.BIND ? c.commands.bind : command === Socks5Command.UDP_ASSOCIATE ? c.commands.udpAssociate : undefined;
    return runCommand(c, handler, { version: 5, command, target, user, encode });
  }
}
