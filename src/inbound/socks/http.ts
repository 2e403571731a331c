import { ErrorCode } from '../../core/errors.js';
import { CodecError, NEED_MORE, type NeedMore } from '../../core/need-more.js';
import { decodeBasicCredentials, decodeProxyRequest, encodeOriginRequest, encodeProxyResponse } from '../../codec/http-proxy-request.js';
import { ANSWERED, ClientAnswer, type HandshakeContext, type HandshakeResult, type ServerSteps } from './handshake.js';
import { httpStatusOf, type ReplyCode } from './reply-code.js';

const AUTH_REQUIRED = encodeProxyResponse(407, { 'Proxy-Authenticate': 'Basic realm="socksgate"' });
const encode = (code: ReplyCode) => encodeProxyResponse(httpStatusOf(code));

/** `user`: who a valid `Proxy-Authorization: Basic` logs in; `tried`: the name of a wrong login; neither: no Basic login at all. */
function loginOf(c: HandshakeContext, header: string | undefined): { user?: string; tried?: string } {
  if (header === undefined) return {};
  const credentials = decodeBasicCredentials(header);
  if (!credentials) return {};
  return c.users.check(credentials.username, credentials.password) ? { user: credentials.username } : { tried: credentials.username };
}

/**
 * The server side of an HTTP proxy: CONNECT opens a tunnel (200 once the upstream dial succeeded);
 * a request in absolute-form (`GET http://host/path`) is forwarded in origin-form with
 * `Connection: close`, so each connection carries one request and ends when the server closes.
 * Users log in with Basic Proxy-Authorization; without it the client gets 407.
 */
export class HttpSteps implements ServerSteps {
  constructor(private readonly c: HandshakeContext) {}

  advance(): HandshakeResult | NeedMore {
    const { c } = this;
    const { client, users } = c;
    const request = client.take(decodeProxyRequest);
    if (request === NEED_MORE) return NEED_MORE;
    let user: string | undefined;
    if (users.required) {
      const login = loginOf(c, request.headers['proxy-authorization']);
      if (login.user === undefined) {
        client.closeWith(AUTH_REQUIRED);
        if (login.tried !== undefined) c.refused(ErrorCode.AUTH_FAILED, 'HTTP proxy login failed: unknown user or wrong password', login.tried);
        return ANSWERED;
      }
      user = login.user;
    }
    const answer = new ClientAnswer(client, encode);
    if (request.path === undefined) return { kind: 'connect', target: request.target, user, answer };
    // The forwarded head goes in front of whatever body bytes came with it; the relay sends both upstream.
    client.socket().unshift(encodeOriginRequest(request));
    // No reply to write, and none the addon could: the rewritten request lives in the Node socket.
    return { kind: 'connect', target: request.target, user, answer: { connected: () => Promise.resolve(), failed: (err) => answer.failed(err) } };
  }
}

/** A request that did not parse gets 400 before the close; anything else (timeout, EOF) just the close. */
export function httpRefusal(err: unknown): Buffer | undefined {
  return err instanceof CodecError ? encodeProxyResponse(400) : undefined;
}
