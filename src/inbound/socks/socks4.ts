import { ErrorCode } from '../../core/errors.js';
import { decodeSocks4Request, encodeSocks4Reply, Socks4Command, Socks4Reply } from '../../codec/socks4.js';
import type { EncodeReply } from './reply-code.js';
import { NEED_MORE, type NeedMore } from '../../core/need-more.js';
import { ANSWERED, ClientAnswer, runCommand, type HandshakeContext, type HandshakeResult, type ServerSteps } from './handshake.js';

// SOCKS4 has one code for every failure; its reply carries IPv4 only.
const encode: EncodeReply = (code, bound) => encodeSocks4Reply(code === 'succeeded' ? Socks4Reply.GRANTED : Socks4Reply.REJECTED, bound?.kind === 'ipv4' ? bound : undefined);

/**
 * The server side of SOCKS4 and SOCKS4a (a name in place of the address, passed on unresolved).
 * SOCKS4 has no password field: on a listener with users the user-id must be `name:password`.
 */
export class Socks4Steps implements ServerSteps {
  constructor(private readonly c: HandshakeContext) {}

  advance(): HandshakeResult | NeedMore {
    const { c } = this;
    const { client, users } = c;
    const request = client.take(decodeSocks4Request);
    if (request === NEED_MORE) return NEED_MORE;
    const { command, addr: target, userId } = request;
    let user: string | undefined;
    if (users.required) {
      const colon = userId.indexOf(':');
      const name = colon < 0 ? userId : userId.slice(0, colon);
      if (colon < 0 || !users.check(name, userId.slice(colon + 1))) {
        client.closeWith(encode('not-allowed'));
        c.refused(ErrorCode.AUTH_FAILED, 'SOCKS4 login failed: the user-id must be name:password of a known user', name || undefined);
        return ANSWERED;
      }
      user = name;
    }
    if (command === Socks4Command.CONNECT) return { kind: 'connect', target, user, answer: new ClientAnswer(client, encode) };
    return runCommand(c, command === Socks4Command.BIND ? c.commands.bind : undefined, { version: 4, command, target, user, encode });
  }
}
