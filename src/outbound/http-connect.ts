import { ErrorCode, SgError } from '../core/errors.js';
import { decodeConnectResponse, encodeConnectRequest, httpConnectReason } from '../codec/http-connect.js';
import { requestReply, type RequestReply } from './single-request.js';

/** HTTP CONNECT (RFC 9110 §9.3.6) with optional Basic proxy authentication. */
export function httpConnectHandshake(basicAuth?: { username: string; password: string }): RequestReply {
  return (dst, earlyData) =>
    requestReply(encodeConnectRequest(dst, { basicAuth }), earlyData, 'HTTP CONNECT response', decodeConnectResponse, ({ status, reason }) => {
      if (status >= 200 && status < 300) return;
      // tinyproxy answers a wrong password with 401 rather than 407.
      const code = status === 407 || status === 401 ? (basicAuth ? ErrorCode.AUTH_FAILED : ErrorCode.AUTH_REQUIRED) : ErrorCode.UPSTREAM_REFUSED;
      throw new SgError(code, `upstream refused: ${httpConnectReason(status, reason)}`);
    });
}
